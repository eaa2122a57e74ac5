import type { Headroom, HostRoom, InspectionTarget, Lift } from '../predict/inspection-schema.ts';
import { formatCount } from '../predict/count-range.ts';
import { firstToRunOut } from '../predict/headroom.ts';
import { escape, pageHead } from './html.ts';

/** What `portlab inspect` found, as its page shows it. */
export type InspectionShown = {
  target: InspectionTarget;
  readAt: string;
  host: HostRoom;
  headroom: Headroom;
  lifts?: Lift[];
  scenarioFile?: string;
};

const states = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([state, count]) => `${formatCount(count)} ${state}`)
    .join(', ') || '-';

function destinationsTable(headroom: Headroom): string {
  if (headroom.destinations.length === 0) return '<p class="muted">no connections out</p>';
  const rows = headroom.destinations.map(
    (destination) => `<tr><td>${escape(`${destination.address}:${destination.port}`)}</td><td>${escape(states(destination.states))}</td>
      <td class="number">${formatCount(destination.portsUsed)}</td><td class="number">${formatCount(destination.portsFree)}</td>
      <td class="number">${formatCount(destination.left)}</td><td>${escape(destination.limit)}</td><td>${destination.lines.map(escape).join('<br>')}</td></tr>`,
  );
  return `<table><thead><tr><th>destination</th><th>sockets</th><th>ports used</th><th>ports free</th><th>left</th><th>binds first</th><th>why</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function listenersTable(headroom: Headroom): string {
  if (headroom.listeners.length === 0) return '<p class="muted">no listening socket</p>';
  const rows = headroom.listeners.map(
    (listener) => `<tr><td>${escape(`${listener.address}:${listener.port}`)}${listener.dockerDns ? " (Docker's DNS)" : ''}</td>
      <td class="number">${formatCount(listener.backlog)}${listener.sockets > 1 ? ` (${listener.sockets} sockets)` : ''}</td><td class="number">${formatCount(listener.queued)}</td>
      <td class="number">${formatCount(listener.queueRoom)}</td><td class="number">${formatCount(listener.accepted)}</td>
      <td class="number">${listener.descriptorsFree === null ? '-' : formatCount(listener.descriptorsFree)}</td></tr>`,
  );
  return `<table><thead><tr><th>listening</th><th>backlog</th><th>queued</th><th>queue room</th><th>accepted</th><th>descriptors free</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

/** What was inspected, as the page's second line names it: "container 0123456789ab", "process 4242", "the host's namespace". */
export const targetText = (target: InspectionTarget): string =>
  target.kind === 'container'
    ? `container ${target.id.slice(0, 12)}`
    : target.kind === 'process'
      ? `process ${target.id}`
      : "the host's namespace";

/** The page for one inspection of a running container, a process's namespace or the host's. Pure. */
export function inspectPage(shown: InspectionShown): string {
  const { target, headroom } = shown;
  const first = firstToRunOut(headroom);
  const lifts =
    shown.lifts && shown.scenarioFile
      ? `<section id="lifts"><h2>What would lift it</h2><ul>${shown.lifts.map((lift) => `<li>${escape(lift.change)}: ${formatCount(lift.connections)} to that destination</li>`).join('')}</ul>
<p>Try them: <code>portlab run ${escape(shown.scenarioFile)}</code></p></section>`
      : '';
  return `${pageHead(`portlab inspect: ${target.name}`)}
<header>
<h1>${escape(target.name)}</h1>
<p class="muted">${escape(targetText(target))}, read ${escape(shown.readAt)}${first ? `; first to run out: ${escape(`${first.address}:${first.port}`)}, ${escape(first.limit)}, ${formatCount(first.left)} more` : ''}</p>
</header>
<section id="namespace"><h2>The namespace</h2><ul>${headroom.lines.map((line) => `<li>${escape(line)}</li>`).join('')}${
    headroom.descriptors
      ? `<li>descriptors: ${escape(headroom.descriptors.process)} holds ${formatCount(headroom.descriptors.fds)} of its nofile ${formatCount(headroom.descriptors.nofile)}</li>`
      : ''
  }</ul></section>
<section id="destinations"><h2>Destinations</h2>${destinationsTable(headroom)}</section>
<section id="listeners"><h2>Listening ports</h2>${listenersTable(headroom)}</section>
${lifts}
</body>
</html>
`;
}
