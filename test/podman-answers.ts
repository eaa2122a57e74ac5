import { DockerEngine } from '../orchestrator/engine/docker/engine.ts';
import { PODMAN_ENDPOINT } from '../orchestrator/engine/endpoint.ts';

/** Stands in for the Podman tests where no Podman answers: its one skipped test says how to start one. */
export const NO_PODMAN_FILE = 'test/no-podman.skipped.ts';

/**
 * Why the Podman tests cannot run here, or null where they can: a rootful Podman service answers where portlab looks
 * for one (CONTAINER_HOST, else /run/podman/podman.sock, as root). The suite never installs or starts Podman;
 * `.ci/run`, on a disposable machine, does.
 */
export async function podmanCanRun(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not run: the Podman tests (rootful Podman, and the rootless one run as its user, need root)';
  const engine = DockerEngine.at(PODMAN_ENDPOINT, { timeoutMs: 5_000 });
  if (await engine.ping()) return null;
  return `not run: the Podman tests (no Podman answers at ${PODMAN_ENDPOINT.address()}; the suite never starts one: bash scripts/start-podman.sh installs Debian's podman where missing and starts its service)`;
}

/**
 * The user whose rootless Podman the rootless tests run as (PORTLAB_TEST_ROOTLESS_USER, with its own service started
 * by scripts/start-podman.sh run as that user), or why there is none.
 */
export function rootlessUser(): { user: string } | { notRun: string } {
  const user = process.env.PORTLAB_TEST_ROOTLESS_USER;
  if (!user)
    return {
      notRun:
        'not run: the rootless Podman tests (set PORTLAB_TEST_ROOTLESS_USER to a user with subordinate ids whose Podman service answers: as that user, XDG_RUNTIME_DIR=/run/user/$(id -u) bash scripts/start-podman.sh)',
    };
  return { user };
}
