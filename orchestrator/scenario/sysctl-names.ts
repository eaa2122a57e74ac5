import { dottedPath, parseYaml, ScenarioError, type ScenarioProblem } from './load-scenario.ts';

/**
 * The sysctls a network namespace has: the files under /proc/sys/net of a new namespace, as `probe sysctls` lists
 * them, and where that list came from, as a message names it ("a new network namespace on this engine's kernel
 * (Linux 6.18)").
 */
export type SysctlCatalog = { names: ReadonlySet<string>; source: string };

export const catalogOf = (names: readonly string[], source: string): SysctlCatalog => ({ names: new Set(names), source });

/** Per-interface sysctls: an interface has what the `default` entry has (net.ipv4.conf.eth0.rp_filter). */
const PER_INTERFACE = /^(net\.(?:ipv4|ipv6|mpls)\.(?:conf|neigh))\.[^.]+\.(.+)$/;

export function isKnownSysctl(name: string, catalog: SysctlCatalog): boolean {
  if (catalog.names.has(name)) return true;
  const perInterface = PER_INTERFACE.exec(name);
  return perInterface !== null && catalog.names.has(`${perInterface[1]}.default.${perInterface[2]}`);
}

/** Edits (insert, delete, substitute, swap two neighbours) from one name to another: optimal string alignment. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The known name nearest to `name`, when it is near enough to be a slip: at most a third of its last segment. */
export function nearestSysctl(name: string, catalog: SysctlCatalog): string | undefined {
  const lastSegment = name.slice(name.lastIndexOf('.') + 1);
  const allowed = Math.max(1, Math.floor(lastSegment.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of catalog.names) {
    const distance = editDistance(name, candidate);
    if (distance <= allowed && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every sysctl a scenario or sweep document names, with where: the keys of every `sysctls:` map (server, client
 * groups, phases), and sweep axes that vary one (`clients.sysctls.net.ipv4.tcp_tw_reuse`).
 */
export function sysctlsNamed(input: unknown): Array<{ name: string; path: PropertyKey[] }> {
  const found: Array<{ name: string; path: PropertyKey[] }> = [];
  const walk = (node: unknown, at: PropertyKey[]) => {
    if (Array.isArray(node)) node.forEach((item, index) => walk(item, [...at, index]));
    if (!isMap(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'sysctls' && isMap(value)) for (const name of Object.keys(value)) found.push({ name, path: [...at, key, name] });
      else walk(value, [...at, key]);
    }
  };
  walk(input, []);
  if (isMap(input) && isMap(input.sweep)) {
    for (const key of Object.keys(input.sweep)) {
      const at = key.indexOf('sysctls.');
      if (at === 0 || key[at - 1] === '.') found.push({ name: key.slice(at + 'sysctls.'.length), path: ['sweep', key] });
    }
  }
  return found;
}

/**
 * The sysctls of a scenario or sweep file that the namespace does not have, one problem each, located at its key,
 * with the nearest known name when there is one. Only net.* names are looked up: the schema already refuses the
 * others (they are not per network namespace). Pure; `file` names the file in the messages.
 */
export function unknownSysctls(text: string, file: string, catalog: SysctlCatalog): ScenarioProblem[] {
  const parsed = parseYaml(text, file);
  return sysctlsNamed(parsed.input)
    .filter(({ name }) => name.startsWith('net.') && !isKnownSysctl(name, catalog))
    .map(({ name, path }) => {
      const nearest = nearestSysctl(name, catalog);
      return {
        file,
        ...parsed.locate(path, true),
        path: dottedPath(path),
        message: `unknown sysctl: ${name} is not in ${catalog.source}${nearest ? `; did you mean ${nearest}?` : ''}`,
      };
    });
}

/** Throws the unknown sysctls of a file as one ScenarioError (bad input, exit 2). */
export function checkSysctlNames(text: string, file: string, catalog: SysctlCatalog): void {
  const problems = unknownSysctls(text, file, catalog);
  if (problems.length > 0) throw new ScenarioError(problems);
}
