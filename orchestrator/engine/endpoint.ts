import path from 'node:path';
import { PROJECT_ROOT } from '../common/project-root.ts';
import { composeRerun } from '../compile/compile-compose.ts';

/**
 * Where one kind of engine answers and how portlab reaches it: the socket (or the variable that names another), the
 * words that name it to a person, and the script that starts one where none answers. Every engine portlab drives
 * speaks Docker's Engine API; what differs between them is said in their backends, never above engine/.
 */
export type EngineEndpoint = {
  /** What a person calls it: "Docker", "Podman". */
  readonly product: string;
  /** The variable that names another engine of this kind (DOCKER_HOST, CONTAINER_HOST); set, the engine is not started. */
  readonly variable: string;
  /** The address it answers on: the variable's value, else the kind's own socket for this user. */
  address(): string;
  /** Starts one when none answers (installing the engine's packages where it may), saying so on stderr. */
  readonly startScript: string;
  /** Its command-line client, which builds images from a directory (`build -t`) and says whether one is there. */
  readonly cli: 'docker' | 'podman';
  /** The command that reruns a saved compose file by hand on this engine. */
  rerunWith(project: string, file: string): string;
};

/** Whether an address is an engine on this machine (a unix socket), whose host /proc is this machine's. */
export const onThisMachine = (address: string): boolean => address.startsWith('unix://');

/** Docker Engine: DOCKER_HOST, else /var/run/docker.sock; started by scripts/start-engine.sh (Debian's docker.io). */
export const DOCKER_ENDPOINT: EngineEndpoint = {
  product: 'Docker',
  variable: 'DOCKER_HOST',
  address: () => process.env.DOCKER_HOST || 'unix:///var/run/docker.sock',
  startScript: path.join(PROJECT_ROOT, 'scripts', 'start-engine.sh'),
  cli: 'docker',
  rerunWith: composeRerun,
};

/**
 * Podman's Docker-compatible service (`podman system service`): CONTAINER_HOST, else root's /run/podman/podman.sock,
 * else the user's own under XDG_RUNTIME_DIR (rootless); started by scripts/start-podman.sh.
 */
export const PODMAN_ENDPOINT: EngineEndpoint = {
  product: 'Podman',
  variable: 'CONTAINER_HOST',
  address: () => {
    if (process.env.CONTAINER_HOST) return process.env.CONTAINER_HOST;
    if (process.getuid?.() === 0) return 'unix:///run/podman/podman.sock';
    const runtime = process.env.XDG_RUNTIME_DIR || `/run/user/${process.getuid?.() ?? 0}`;
    return `unix://${runtime}/podman/podman.sock`;
  },
  startScript: path.join(PROJECT_ROOT, 'scripts', 'start-podman.sh'),
  cli: 'podman',
  // Compose through Podman's Docker API; podman-compose 1.0.3 (Debian 12's) splits a sysctl's value at its space.
  rerunWith: (project, file) =>
    `DOCKER_HOST=${PODMAN_ENDPOINT.address()} docker-compose -p ${project} -f ${file} up    (Compose on Podman's Docker API; not podman-compose 1.0, which splits "61000 61999" at the space)`,
};
