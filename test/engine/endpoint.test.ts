import { afterEach, describe, expect, it, vi } from 'vitest';
import { clientFor, DockerEngine } from '../../orchestrator/engine/docker/engine.ts';
import { DOCKER_ENDPOINT, onThisMachine, PODMAN_ENDPOINT } from '../../orchestrator/engine/endpoint.ts';

afterEach(() => vi.unstubAllEnvs());

describe('where each kind of engine answers', () => {
  it('Docker: DOCKER_HOST, else /var/run/docker.sock; on this machine when a unix socket', () => {
    vi.stubEnv('DOCKER_HOST', '');
    expect(DOCKER_ENDPOINT.address()).toBe('unix:///var/run/docker.sock');
    expect(DockerEngine.at(DOCKER_ENDPOINT).describe()).toBe('the Docker engine at /var/run/docker.sock');
    vi.stubEnv('DOCKER_HOST', 'tcp://10.0.0.1:2375');
    expect(DockerEngine.at(DOCKER_ENDPOINT).describe()).toBe('the Docker engine at tcp://10.0.0.1:2375');
    expect(onThisMachine('unix:///run/other.sock')).toBe(true);
    expect(onThisMachine('tcp://10.0.0.1:2375')).toBe(false);
    expect(onThisMachine('ssh://lab-2')).toBe(false);
  });

  it("Podman: CONTAINER_HOST, else root's /run/podman/podman.sock or the user's own under XDG_RUNTIME_DIR (rootless)", () => {
    vi.stubEnv('CONTAINER_HOST', '');
    vi.stubEnv('XDG_RUNTIME_DIR', '/run/user/1000');
    const root = process.getuid?.() === 0;
    expect(PODMAN_ENDPOINT.address()).toBe(root ? 'unix:///run/podman/podman.sock' : 'unix:///run/user/1000/podman/podman.sock');
    expect(DockerEngine.at(PODMAN_ENDPOINT).describe()).toBe(
      root ? 'the Podman engine at /run/podman/podman.sock' : 'the Podman engine at /run/user/1000/podman/podman.sock',
    );
    vi.stubEnv('CONTAINER_HOST', 'ssh://core@10.0.0.2/run/podman/podman.sock');
    expect(() => clientFor(PODMAN_ENDPOINT)).toThrow(
      'portlab reaches Podman through a unix socket or tcp://: CONTAINER_HOST=ssh://core@10.0.0.2/run/podman/podman.sock is neither',
    );
  });
});
