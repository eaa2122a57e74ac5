import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { neverPulled, OWN_REGISTRY, ownApplication } from '../../orchestrator/engine/image-names.ts';
import { probeImageTag } from '../../orchestrator/engine/probe-source.ts';
import { applicationImages } from '../../orchestrator/engine/application-images.ts';
import { loadScenario } from '../../orchestrator/scenario/load-scenario.ts';

describe('the names of the images portlab builds', () => {
  it('a registry in .invalid is never pulled; a name of Docker Hub, a registry with a port, or localhost/ may be', () => {
    expect(neverPulled('portlab.invalid/nginx:1.22')).toBe(true);
    expect(neverPulled('registry.invalid/team/app:1')).toBe(true);
    expect(neverPulled('registry.invalid:5000/app')).toBe(true);
    // A short name is Docker Hub's, where anyone may publish; localhost/ is a registry on this host.
    for (const pulled of [
      'portlab-app/nginx:1.22',
      'nginx',
      'localhost/nginx:1',
      'registry.example:5000/portlab.invalid/nginx:1.22',
      'invalid/x',
    ])
      expect(neverPulled(pulled), pulled).toBe(false);
  });

  it('which of its own builds a name is, as portlab images build takes it', () => {
    expect(ownApplication('portlab.invalid/nginx:1.22')).toBe('nginx');
    expect(ownApplication('portlab.invalid/redis-benchmark:7.0')).toBe('redis-benchmark');
    expect(ownApplication('registry.invalid/nginx:1.22')).toBeUndefined();
    expect(ownApplication('portlab-app/nginx:1.22')).toBeUndefined();
  });

  it('the probe image and every image a shipped scenario runs carry the registry that cannot resolve', async () => {
    expect(await probeImageTag()).toMatch(new RegExp(`^${OWN_REGISTRY.replace('.', '\\.')}/probe:[0-9a-f]{12}$`));
    const files = [
      ...(await readdir(path.join(PROJECT_ROOT, 'scenarios'))).filter((file) => file.endsWith('.yml')),
      ...(await readdir(path.join(PROJECT_ROOT, 'scenarios', 'swarm'))).map((file) => `swarm/${file}`),
    ];
    const images = new Set<string>();
    for (const file of files)
      for (const image of applicationImages((await loadScenario(path.join(PROJECT_ROOT, 'scenarios', file))).scenario).keys())
        images.add(image);
    expect(images.size).toBeGreaterThanOrEqual(6);
    for (const image of images) expect(neverPulled(image) && ownApplication(image) !== undefined, image).toBe(true);
  });

  it('the script that builds them names them so', async () => {
    const script = await readFile(path.join(PROJECT_ROOT, 'scripts', 'build-app-images.sh'), 'utf8');
    const tags = [...script.matchAll(/\[([a-z-]+)\]=([^\s)]+)/g)]
      .filter(([, , value]) => value!.includes(':'))
      .map(([, app, tag]) => [app, tag]);
    expect(tags).toHaveLength(6);
    for (const [app, tag] of tags) expect(ownApplication(tag!)).toBe(app);
  });
});
