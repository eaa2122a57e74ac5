import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../orchestrator/common/project-root.ts';
import { BOUNDS } from '../../orchestrator/scenario/bounds.ts';

/** The probe's own limits, as its sources (probe.c and the rooms it includes) #define them. */
const PROBE_DIR = path.join(PROJECT_ROOT, 'images', 'probe');
const probeDefines = Object.fromEntries(
  readdirSync(PROBE_DIR)
    .filter((file) => file.endsWith('.c'))
    .flatMap((file) => [...readFileSync(path.join(PROBE_DIR, file), 'utf8').matchAll(/^#define (MAX_\w+) (\d+)/gm)])
    .map((match) => [match[1]!, Number(match[2])]),
);

describe("the bounds a scenario is checked against are the probe's own", () => {
  it.each([
    ['ports', 'MAX_PORTS'],
    ['processes', 'MAX_WORKERS'],
    ['phases', 'MAX_PHASES'],
    ['sourceAddresses', 'MAX_SOURCES'],
  ] as const)("BOUNDS.%s is the probe's %s", (bound, define) => {
    expect(probeDefines[define]).toBeDefined();
    expect(BOUNDS[bound]).toBe(probeDefines[define]);
  });
});
