import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../orchestrator/common/project-root.ts';

/** The user's guide and the docs it links: every relative link resolves, and the README stays a guide, not a notebook. */
const pages = [
  'README.md',
  ...(await readdir(path.join(PROJECT_ROOT, 'docs'))).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`),
];

describe('the README and docs/', () => {
  it.each(pages)('%s: every relative link resolves', async (page) => {
    const text = await readFile(path.join(PROJECT_ROOT, page), 'utf8');
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1]!)
      .filter((link) => !/^[a-z]+:/.test(link) && !link.startsWith('#'));
    const missing: string[] = [];
    for (const link of links) {
      const target = path.resolve(PROJECT_ROOT, path.dirname(page), link.split('#')[0]!);
      await access(target).catch(() => missing.push(link));
    }
    expect(missing).toEqual([]);
  });

  it('the README is a user guide of at most about 300 lines, with no lab notebook in it', async () => {
    const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    expect(readme).not.toMatch(/\bseed \d{3}\b/i);
  });
});
