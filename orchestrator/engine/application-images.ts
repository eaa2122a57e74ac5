import { SERVER_NAME } from '../scenario/names.ts';
import type { Scenario } from '../scenario/scenario-schema.ts';
import type { DockerEngine } from './docker/engine.ts';
import { EngineError, EngineUnavailableError, stopIfInterrupted } from './errors.ts';
import { neverPulled, ownApplication } from './image-names.ts';

/** An image of the user's own that the engine does not have and could not pull: nothing was started. */
export class ApplicationImageError extends Error {
  override name = 'ApplicationImageError';
}

/** The user's own images a scenario runs, each with who runs it (the server, client groups). */
export function applicationImages(scenario: Scenario): Map<string, string[]> {
  const users = new Map<string, string[]>();
  const add = (image: string | undefined, who: string) => {
    if (image !== undefined) users.set(image, [...(users.get(image) ?? []), who]);
  };
  add(scenario.server.image, SERVER_NAME);
  for (const group of scenario.clients) add(group.image, group.name);
  return users;
}

/** Why an image that is not on the engine is not pulled either, and what makes it: one line. */
function notPulled(image: string, users: string[]): ApplicationImageError {
  const app = ownApplication(image);
  return new ApplicationImageError(
    app
      ? `image ${image} (${users.join(', ')}) is portlab's build of Debian's ${app} and is not on this engine: make it with \`portlab images build ${app}\` and run again (it is never pulled)`
      : `image ${image} (${users.join(', ')}) is not on this engine, and its registry (.invalid) cannot exist, so it is never pulled: build or load it there (docker build -t ${image} ..., or docker load) and run again`,
  );
}

/**
 * Every image of the user's own is on the engine before anything of the run is created: found there, or pulled (as
 * compose would). A name in .invalid (portlab's own builds among them) is never pulled: no registry can serve it.
 * One that is not there and cannot be had is an error that names it, who runs it, and what to do.
 */
export async function ensureApplicationImages(
  engine: DockerEngine,
  scenario: Scenario,
  signal: AbortSignal,
  onStatus: (message: string) => void,
): Promise<void> {
  for (const [image, users] of applicationImages(scenario)) {
    if (await engine.images.exists(image, signal)) continue;
    stopIfInterrupted(signal, `looking for image ${image}`);
    if (neverPulled(image)) throw notPulled(image, users);
    onStatus(`image ${image} is not on this engine: pulling it`);
    try {
      await engine.images.pull(image, signal);
    } catch (error) {
      stopIfInterrupted(signal, `pulling image ${image}`);
      if (!(error instanceof EngineError) || error instanceof EngineUnavailableError) throw error;
      const why = error.message
        .replace(`pulling ${image}: `, '')
        .replace(/^\(HTTP code \d+\) [^-]*- /, '')
        .split('\n')[0];
      throw new ApplicationImageError(
        `image ${image} (${users.join(', ')}) is not on this engine and could not be pulled (${why}): build or load it there (docker build -t ${image} ..., or docker load) and run again`,
        { cause: error },
      );
    }
  }
}
