import path from 'node:path';
import Docker from 'dockerode';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';

/**
 * The suite's own swarm: `npm run lab -- up 3` (three engines on this host, in namespaces of their own), never the
 * engine the user has, and under a name, addresses and paths of its own: a lab the person made (`npm run lab -- up`,
 * named lab) is never touched. Its manager's socket and registry are what `up` prints.
 */
const LAB = path.join(PROJECT_ROOT, 'scripts', 'lab.sh');
export const LAB_NODES = 3;
export const LAB_NAME = 'tlab';
const LAB_ENV = { PORTLAB_LAB_NAME: LAB_NAME, PORTLAB_LAB_SUBNET: '10.78.0', PORTLAB_LAB_POOL: '10.201.0.0/16' };
const lab = (...args: string[]) => execa('bash', [LAB, ...args], { env: LAB_ENV });

export const labSocket = (node: number) => `/run/portlab-${LAB_NAME}/node-${node}/docker.sock`;
/** An independent view of one of the lab's engines, for assertions. */
export const labEngine = (node: number) => new Docker({ socketPath: labSocket(node) });

/** What `up` prints to eval: DOCKER_HOST and PORTLAB_REGISTRY. */
export type LabEnv = { DOCKER_HOST: string; PORTLAB_REGISTRY: string };

export async function labUp(): Promise<LabEnv> {
  // A lab a killed suite left is taken down first (the lab is the suite's own).
  await lab('down');
  const { stdout } = await lab('up', String(LAB_NODES));
  const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)=(\S+)$/gm)].map((match) => [match[1], match[2]]));
  return { DOCKER_HOST: env.DOCKER_HOST!, PORTLAB_REGISTRY: env.PORTLAB_REGISTRY! };
}

export const labDown = () => lab('down');
export const labStop = (node: number) => lab('stop', String(node));
export const labStart = (node: number) => lab('start', String(node));

/** The lab's nodes by number (its `portlab.lab-node` label): id and hostname. */
export async function labNodes(): Promise<Map<number, { id: string; hostname: string }>> {
  const nodes = await labEngine(1).listNodes();
  return new Map(
    nodes.map((node) => [
      Number(node.Spec?.Labels?.['portlab.lab-node']),
      { id: node.ID ?? '', hostname: node.Description?.Hostname ?? '' },
    ]),
  );
}
