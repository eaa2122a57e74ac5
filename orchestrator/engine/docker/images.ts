import { EngineError } from '../errors.ts';
import { statusOf, type ClientContext } from './call.ts';

/** An image build compiles nothing in the daemon (the probe is compiled before), but sends a context; a pull or a push sends layers. */
const BUILD_TIMEOUT_MS = 5 * 60_000;

/** Images on one engine: is it there, pull it, build it, push it. */
export class Images {
  constructor(private readonly context: ClientContext) {}

  async exists(tag: string, interrupt?: AbortSignal): Promise<boolean> {
    return this.context.call(
      `an inspection of image ${tag}`,
      async (abortSignal) => {
        await this.context.api.getImage(tag).inspect({ abortSignal });
        return true;
      },
      (error) => {
        if (statusOf(error) === 404) return false;
        throw new EngineError(`inspecting image ${tag}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** What an image starts: its entrypoint and its default command (each empty where the image sets none); null: no such image. */
  async startsWith(tag: string, interrupt?: AbortSignal): Promise<{ entrypoint: string[]; cmd: string[] } | null> {
    return this.context.call(
      `an inspection of image ${tag}`,
      async (abortSignal) => {
        const { Config } = await this.context.api.getImage(tag).inspect({ abortSignal });
        const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
        return { entrypoint: list(Config?.Entrypoint), cmd: list(Config?.Cmd) };
      },
      (error) => {
        if (statusOf(error) === 404) return null;
        throw new EngineError(`inspecting image ${tag}`, { cause: error });
      },
      { interrupt },
    );
  }

  /** The images that carry `label`, with their tags and labels. */
  async labelled(label: string): Promise<Array<{ id: string; tags: string[]; labels: Record<string, string> }>> {
    return this.context.call(
      `a list of images labelled ${label}`,
      async (abortSignal) => {
        const found = await this.context.api.listImages({ filters: { label: [label] }, abortSignal });
        return found.map((image) => ({ id: image.Id, tags: image.RepoTags ?? [], labels: image.Labels ?? {} }));
      },
      (error) => {
        throw new EngineError(`listing images labelled ${label}`, { cause: error });
      },
    );
  }

  /** Pulls an image from its registry (no credentials); the registry's or the daemon's refusal is the failure. */
  async pull(reference: string, interrupt?: AbortSignal): Promise<void> {
    return this.context.call(
      `the pull of ${reference}`,
      async (abortSignal) => {
        const stream = await this.context.api.pull(reference, { abortSignal });
        await this.progressOf(stream, abortSignal);
      },
      (error) => {
        throw new EngineError(`pulling ${reference}`, { cause: error });
      },
      { timeoutMs: BUILD_TIMEOUT_MS, interrupt },
    );
  }

  /** Builds an image from files in `context`; no base image is pulled (the Dockerfile starts FROM scratch). */
  async build(context: string, files: string[], tag: string, labels: Record<string, string>, interrupt?: AbortSignal): Promise<void> {
    return this.context.call(
      `the build of image ${tag}`,
      async (abortSignal) => {
        const stream = await this.context.api.buildImage({ context, src: files }, { t: tag, labels, rm: true, forcerm: true, abortSignal });
        await this.progressOf(stream, abortSignal);
      },
      (error) => {
        throw new EngineError(`building image ${tag} from ${context}`, { cause: error });
      },
      { timeoutMs: BUILD_TIMEOUT_MS, interrupt },
    );
  }

  /**
   * Tags a local image as `<registry>/<name>:<tag>` and pushes it there (no credentials: a registry every node can
   * pull from without login, or one the daemon is already logged in to). Returns the pushed reference.
   */
  async push(image: string, registry: string, interrupt?: AbortSignal): Promise<string> {
    const [name, tag = 'latest'] = image.split(':');
    const repo = `${registry}/${name}`;
    return this.context.call(
      `the push of ${image} to ${registry}`,
      async (abortSignal) => {
        await this.context.api.getImage(image).tag({ repo, tag, abortSignal });
        // The daemon wants an X-Registry-Auth header even with no credentials: an empty one, as the docker CLI sends.
        const stream = await this.context.api.getImage(`${repo}:${tag}`).push({ authconfig: {}, abortSignal });
        await this.progressOf(stream, abortSignal);
        return `${repo}:${tag}`;
      },
      (error) => {
        throw new EngineError(`pushing ${image} to ${registry}`, { cause: error });
      },
      { timeoutMs: BUILD_TIMEOUT_MS, interrupt },
    );
  }

  /** Reads a build's or a push's progress stream to its end; an error entry in it is the failure. */
  private async progressOf(stream: NodeJS.ReadableStream, abortSignal: AbortSignal): Promise<void> {
    const output = await new Promise<Array<{ error?: string }>>((resolve, reject) => {
      abortSignal.addEventListener('abort', () => reject(abortSignal.reason), { once: true });
      this.context.api.modem.followProgress(stream, (error: Error | null, result: Array<{ error?: string }>) =>
        error ? reject(error) : resolve(result),
      );
    });
    const failure = output.find((entry) => entry.error);
    if (failure) throw new Error(failure.error);
  }
}
