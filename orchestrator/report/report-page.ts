import { BACKENDS } from '../engine/registry.ts';
import { formatCount, showCount } from '../predict/count-range.ts';
import { backlogText, listenersByPort } from '../observe/kernel-view.ts';
import { observationKey } from '../predict/prediction-schema.ts';
import { SERVER_NAME } from '../scenario/names.ts';
import { boundLimitOf, measuredNote } from './bound-by.ts';
import type { Chart } from './chart-specs.ts';
import { escape, pageHead, verdictClass } from './html.ts';
import type { StoredResult } from './result-schema.ts';
import { showStop } from '../predict/prediction-schema.ts';

/** A chart ready for the page: its SVG, already rendered. */
export type RenderedChart = Chart & { svg: string };

export const NO_SERIES_NOTE =
  'This result has no time series (schema version 1, written before portlab recorded one), so the report has no plots; run the scenario again for them.';

/** The limit a row names: the one that bound where it was named from the kernel's view, else the predicted one. */
const limitShown = (entry: { limit: string; bound?: { limit: string; by: string } }) =>
  entry.bound ? `${entry.bound.limit} (bound, ${entry.bound.by})` : entry.limit;

/** A container's name, and on a swarm the node it ran on (its verdict and its kernel's view are that node's). */
const containerCell = (result: StoredResult, name: string) => {
  const node = result.environment.containers[name]?.node;
  return `${escape(name)}${node ? `<br><span class="muted">on ${escape(node)}</span>` : ''}`;
};

/** For each application of the user's own: what the kernel showed of it at most, its listeners and descriptors. */
function kernelTable(result: StoredResult): string {
  const rows = [...result.clients, result.server].flatMap((entry) => {
    const kernel = 'kernel' in entry ? entry.kernel : undefined;
    if (!kernel) return [];
    const states = Object.entries(kernel.peakStates)
      .map(([state, count]) => `${state} ${formatCount(count)}`)
      .join(', ');
    const listeners = listenersByPort(kernel.listeners)
      .map((entry) => `${entry.port}: backlog ${backlogText(entry, formatCount)}, at most ${formatCount(entry.peakQueue)} queued`)
      .join('; ');
    const nofile = kernel.app.nofile === null ? 'unknown' : formatCount(kernel.app.nofile);
    return [
      `<tr><td>${containerCell(result, entry.name)}</td><td>${escape(states || '-')}</td><td>${escape(listeners || '-')}</td>
      <td class="number">${escape(formatCount(kernel.app.peakFds))} of ${escape(nofile)}</td><td>${escape(entry.bound?.evidence ?? '')}</td></tr>`,
    ];
  });
  if (rows.length === 0) return '';
  return `<section id="kernel-view"><h2>The kernel's view of your software</h2><table>
    <thead><tr><th>container</th><th>sockets at most, by state</th><th>listening sockets</th><th>descriptors (busiest process)</th><th>what bound</th></tr></thead>
    <tbody>${rows.join('')}</tbody></table></section>`;
}

function resultTable(result: StoredResult): string {
  const rows = [...result.clients, result.server].map(
    (entry) => `<tr>
      <td>${containerCell(result, entry.name)}</td><td class="number">${escape(showCount(entry.predicted))}</td><td class="number">${escape(showCount(entry.allowed))}</td>
      <td class="number">${escape(formatCount(entry.observed))}</td><td>${escape(limitShown(entry))}</td>
      <td>${escape(showStop(entry.predictedError))}</td><td>${escape(entry.observedError ?? '-')}</td>
      <td class="${verdictClass(entry.verdict)}">${entry.verdict}</td><td>${escape(entry.why)}</td></tr>`,
  );
  const total =
    result.clients.length > 1
      ? result.total.verdict
        ? `<tr class="total"><td>all clients</td><td class="number">${escape(showCount(result.total.predicted))}</td>
         <td class="number">${escape(showCount(result.total.allowed ?? result.total.predicted))}</td><td class="number">${escape(formatCount(result.total.observed))}</td>
         <td>${escape(result.prediction.measured.limit)}</td><td></td><td></td><td class="${verdictClass(result.total.verdict)}">${result.total.verdict}</td><td>${escape(result.total.why ?? '')}</td></tr>`
        : `<tr class="total"><td>all clients</td><td class="number">${escape(showCount(result.total.predicted))}</td><td></td>
         <td class="number">${escape(formatCount(result.total.observed))}</td><td colspan="5" class="muted">the sum of the clients above</td></tr>`
      : '';
  return `<table>
    <thead><tr><th>container</th><th>predicted</th><th>allowed</th><th>observed</th><th>limit</th><th>predicted error</th><th>observed error</th><th>verdict</th><th>why</th></tr></thead>
    <tbody>${rows.join('')}${total}</tbody></table>`;
}

function environmentList(result: StoredResult): string {
  const env = result.environment;
  const granted = Object.entries(env.containers)
    .map(([name, container]) => {
      const asked = container.requestedNofile ? `${formatCount(container.requestedNofile.hard)} asked, ` : '';
      const got = container.grantedNofile ? `${formatCount(container.grantedNofile.soft)} granted` : 'not reported';
      return `${escape(name)}: ${asked}${got}${container.processes > 1 ? `, ${container.processes} worker processes` : ''}`;
    })
    .join('<br>');
  const conntrack = env.conntrack
    ? `${formatCount(env.conntrack.inUse)} entries in use of ${formatCount(env.conntrack.max)} at the start`
    : 'not readable';
  return `<dl>
    ${env.nodes ? `<dt>nodes</dt><dd id="nodes">${nodeList(result)}</dd>` : ''}
    <dt>started</dt><dd>${escape(result.run.startedAt)} (run ${escape(result.run.id)}, ${(result.run.durationMs / 1000).toFixed(1)} s, ended: ${escape(result.run.endReason)})</dd>
    <dt>engine</dt><dd>${BACKENDS[result.run.engine ?? 'local'].endpoint.product} ${escape(env.docker.version)} (API ${escape(env.docker.apiVersion)}), kernel ${escape(env.kernel)}${env.host?.kernelBuild ? ` (${escape(env.host.kernelBuild)})` : ''}</dd>
    <dt>nofile</dt><dd>${granted}${env.engineNofileCeiling !== null ? `<br><span class="muted">the engine grants at most ${formatCount(env.engineNofileCeiling)}</span>` : ''}</dd>
    <dt>conntrack</dt><dd>${conntrack}</dd>
    ${env.host ? `<dt>host</dt><dd id="host-limits">${hostLimits(env.host, throughHelper(result))}</dd>` : ''}
    ${result.run.failure ? `<dt>failure</dt><dd>${escape(result.run.failure)}</dd>` : ''}
  </dl>`;
}

/** Whether a network helper carried the run's connections: a server on the host's network, reached through one. */
const throughHelper = (result: StoredResult) =>
  result.environment.networkHelper !== undefined && (result.scenario.server as { network?: string } | undefined)?.network === 'host';

/** The host's open files and memory at the start: what a run of hundreds of thousands of connections draws on. */
function hostLimits(host: NonNullable<StoredResult['environment']['host']>, throughHelper: boolean): string {
  const each = throughHelper
    ? "each connection through the network helper takes three: one per end and the helper's socket"
    : 'each connection between two containers of this host takes two, one per end';
  const files = host.files
    ? `open files: ${formatCount(host.files.allocated)} allocated of fs.file-max ${formatCount(host.files.max)} (${each})`
    : 'open files: not readable';
  const memory =
    host.memoryAvailableKb === null ? 'memory: not readable' : `memory available: ${(host.memoryAvailableKb / 1024 / 1024).toFixed(1)} GiB`;
  const search =
    host.cores && host.ehashEntries
      ? `<br>port search: ${host.cores} cores shared by the filling clients; an established hash of ${formatCount(host.ehashEntries)} chains for every namespace's sockets`
      : '';
  return `${files}<br>${memory}${search}`;
}

/** On a swarm: the prediction per node, with the nodes each placement admits. */
function nodeTable(result: StoredResult): string {
  const loads = result.prediction.nodes;
  if (!loads) return '';
  const rows = loads.map(
    (load) =>
      `<tr><td>${escape(load.role)}</td><td>${escape(load.placedOn ? load.placedOn.join(', ') || 'none of them' : "the scheduler's choice")}</td><td class="number">${load.containersPerNode ?? '-'}</td><td class="number">${escape(showCount(load.connections))}</td><td>${escape(load.limit)}</td></tr>`,
  );
  return `<section id="per-node"><h2>Per node</h2><table>
    <thead><tr><th>nodes</th><th>placed on</th><th>containers each</th><th>connections each</th><th>binding limit</th></tr></thead>
    <tbody>${rows.join('')}</tbody></table></section>`;
}

/** On a swarm: each node, by hostname and id, with what ran there and its conntrack table at the start. */
function nodeList(result: StoredResult): string {
  const containers = Object.entries(result.environment.containers);
  return (result.environment.nodes ?? [])
    .map((node) => {
      const here = containers
        .filter(([, container]) => (node.id && container.nodeId ? container.nodeId === node.id : container.node === node.hostname))
        .map(([name]) => name);
      const table = node.conntrack
        ? `conntrack ${formatCount(node.conntrack.inUse)} of ${formatCount(node.conntrack.max)}`
        : 'conntrack not readable';
      return `${escape(node.hostname)}${node.id ? ` <span class="muted">(${escape(node.id.slice(0, 12))})</span>` : ''}: ${here.length > 0 ? escape(here.join(', ')) : '<span class="muted">nothing of this run</span>'}; ${table}`;
    })
    .join('<br>');
}

/** The prediction's arithmetic: the shared lines, then each container's (containers with the same lines share a heading). */
function arithmetic(result: StoredResult): string {
  const measured = result.prediction.measured;
  const groups = new Map<string, { names: string[]; lines: string[] }>();
  const add = (name: string, lines: string[]) => {
    const key = JSON.stringify(lines.map((line) => line.replaceAll(name, '\u0000')));
    const group = groups.get(key);
    if (group) group.names.push(name);
    else groups.set(key, { names: [name], lines });
  };
  for (const client of measured.clients) add(observationKey(client), client.reasoning);
  add(SERVER_NAME, measured.server.reasoning);
  const list = (lines: string[]) => `<ul class="reasoning">${lines.map((line) => `<li>${escape(line)}</li>`).join('')}</ul>`;
  return [
    list(measured.reasoning),
    ...[...groups.values()].map((group) => `<h3>${escape(group.names.join(', '))}</h3>${list(group.lines)}`),
  ].join('\n');
}

/** The whole page for one result. Pure: the charts come rendered. */
export function reportPage(result: StoredResult, charts: RenderedChart[], files: { result: string; compose: string }): string {
  const name = String(result.scenario.name ?? 'scenario');
  const description = typeof result.scenario.description === 'string' ? result.scenario.description : '';
  const figures = charts.map(
    (chart) => `<figure id="chart-${chart.id}">${chart.svg}<figcaption>${escape(chart.caption)}</figcaption></figure>`,
  );
  const plots = result.schemaVersion === 1 ? `<p class="note" id="no-series">${escape(NO_SERIES_NOTE)}</p>` : figures.join('\n');
  return `${pageHead(`portlab: ${name} (${result.verdict})`)}
<header>
<h1>${escape(name)} <span class="verdict ${result.verdict}" id="verdict">${result.verdict.toUpperCase()}</span></h1>
${description ? `<p>${escape(description)}</p>` : ''}
<p class="muted">binding limit: ${escape(boundLimitOf(result))}; all clients together: ${escape(showCount(result.total.predicted))} predicted, ${escape(formatCount(result.total.observed))} observed${measuredNote(result) ? `; ${escape(measuredNote(result))}` : ''}</p>
</header>
<section id="environment"><h2>When and on what</h2>${environmentList(result)}</section>
<section id="verdicts"><h2>Predicted against observed</h2>${resultTable(result)}</section>
${kernelTable(result)}
${nodeTable(result)}
<section id="plots"><h2>Plots</h2>${plots}</section>
<section id="arithmetic"><h2>The arithmetic</h2>${arithmetic(result)}</section>
${result.notes.length > 0 ? `<section id="notes"><h2>Notes</h2><ul>${result.notes.map((note) => `<li>${escape(note)}</li>`).join('')}</ul></section>` : ''}
<footer><h2>Files</h2><p class="muted">result: ${escape(files.result)}<br>compose file: ${escape(files.compose)} (rerun by hand with <code>${escape(BACKENDS[result.run.engine ?? 'local'].endpoint.rerunWith(result.run.project, files.compose))}</code>)<br>result schema version ${result.schemaVersion}</p></footer>
</body>
</html>
`;
}
