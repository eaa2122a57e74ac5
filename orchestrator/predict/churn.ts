/** A client that connects, closes and connects again: TIME_WAIT, reuse, pacing (docs/model.md, "TIME_WAIT"). */

import { type ClientGroup, type Scenario } from '../scenario/scenario-schema.ts';
import { durationMs } from '../scenario/duration.ts';
import type { Environment } from './environment.ts';
import { NAMESPACE_SYSCTL_DEFAULTS, TIME_WAIT_SECONDS } from './kernel-facts.ts';
import { killedTimeWaits, reuseAgeOf, twReuseApplies, type ReuseAge } from './time-wait-reuse.ts';
import { eitherCount, exactCount, formatCount, showCount } from './count-range.ts';
import { planWorkers } from './plan-workers.ts';
import { clientPrediction } from './client-prediction.ts';
import { localPortLimit, portCapacity, targetsOf } from './ports.ts';
import { NO_STOP, stopsWith, type ClientPrediction, type CountRange, type Limit, type PredictedStop } from './prediction-schema.ts';

/** What every case of a churning client's prediction is decided from. */
type Churn = {
  usable: { min: number; max: number };
  /** The count once the ports run out: the usable ports, plus the TIME_WAITs RSTs killed before the failure. */
  runsOut: CountRange;
  early: { killed: number | null; why: string };
  rate: number | undefined;
  /**
   * The connections per second it churns at: its rate; unpaced, the speed its probe reported in this run, or (for
   * the estimate before a run) what unpaced churns reached on this engine before; unknown otherwise.
   */
  speed: number | undefined;
  speedText: string;
  paced: { count: CountRange; text: string };
  serverCloses: boolean;
  buckets: number;
  twReuse: string;
  /** tcp_tw_reuse=1 with timestamps: a TIME_WAIT port can be taken again once reuseAge old. */
  reuse: boolean;
  reuseAge: ReuseAge;
  /** How long a TIME_WAIT keeps its port within the run: the duration, at most TIME_WAIT's 60 s. */
  window: number;
  /** The churn's duration, in seconds. */
  seconds: number;
  /** A paced client: how many connections it fell behind its schedule, as its probe reported; absent until then. */
  behind: number | undefined;
};

type ChurnOutcome = { connections: CountRange; limit: Limit; error: PredictedStop; why: string };

/**
 * The cases of a churning client, in the order they are decided: the first that applies is the prediction. Each says
 * why in one sentence; the kernel facts behind them are in docs/model.md, "TIME_WAIT".
 */
const CHURN_CASES: Array<{ applies: (churn: Churn) => boolean; outcome: (churn: Churn) => ChurnOutcome }> = [
  {
    applies: (churn) => churn.serverCloses,
    outcome: ({ paced }) => ({
      connections: paced.count,
      limit: 'none',
      error: NO_STOP,
      why: `the server closes first, so TIME_WAIT stays on the server (one per 4-tuple there) and each local port is free again once the client has closed: no failure; ${paced.text}`,
    }),
  },
  {
    // Past net.ipv4.tcp_max_tw_buckets the kernel keeps no TIME_WAIT at all (inet_twsk_alloc returns NULL and
    // tcp_time_wait counts TcpExtTCPTimeWaitOverflow; it logs nothing), so a namespace allowed fewer than its usable
    // ports can never fill them.
    applies: (churn) => churn.buckets < churn.usable.min,
    outcome: ({ rate, paced, usable, buckets }) => ({
      connections: rate ? paced.count : { min: usable.min + 1, max: null },
      limit: 'none',
      error: NO_STOP,
      why: `net.ipv4.tcp_max_tw_buckets=${formatCount(buckets)}, fewer than the ${formatCount(usable.min)} ports: past that many, a closed connection gets no TIME_WAIT (the bucket table overflows) and its port is free at once, so the client never runs out; ${paced.text}`,
    }),
  },
  {
    applies: (churn) => churn.speed === undefined,
    outcome: ({ reuse, usable, reuseAge, window, runsOut, early }) => {
      const threshold = reuse ? usable.max / reuseAge.max : usable.min / window;
      return {
        connections: { min: 1, max: runsOut.max },
        limit: 'time-wait',
        error: { errnos: ['EADDRNOTAVAIL'], orNone: true },
        why: `no rate is set and its speed is not known before it runs: faster than ${formatCount(Math.ceil(threshold))}/s it runs out of ports (EADDRNOTAVAIL after ${showCount(usable)} ${early.why}), slower it churns for its whole duration; the run measures it`,
      };
    },
  },
  {
    applies: (churn) => churn.reuse && churn.speed! <= churn.usable.max / churn.reuseAge.max,
    outcome: ({ rate, paced, usable, reuseAge, speedText }) => ({
      connections: rate ? paced.count : { min: usable.max + 1, max: null },
      limit: 'none',
      error: NO_STOP,
      why: `net.ipv4.tcp_tw_reuse=1 with timestamps: connect() takes a TIME_WAIT port once it is ${reuseAge.text} old (tcp_twsk_unique); ${speedText} cycles the ${formatCount(usable.max)} ports more slowly than that, so no failure: ${paced.text}`,
    }),
  },
  {
    // A kernel without tcp_tw_reuse_delay (before 6.14) frees a TIME_WAIT for reuse at the whole second after its
    // last timestamp (tcp_twsk_unique: time_after32(ktime_get_seconds(), tw_ts_recent_stamp)), so the ports used in
    // one second of the clock all come back together when the next one starts: a destination gets at most its U
    // ports in any second. Faster than U/s, the client runs out within its first partial second (if that second
    // leaves it U/speed or more) or else after it and U/speed of the next: by 2U/speed at the latest, so a churn
    // lasting that long runs out for certain, after the first, partial second's n (0 to U - 1) and the next's U.
    // A paced client that fell behind its schedule (the CPU: a VM under QEMU's TCG churns a few hundred a second) did
    // not keep that speed, so the rule does not apply to it.
    applies: (churn) =>
      churn.reuse &&
      churn.reuseAge.wholeSecond &&
      churn.speed! > churn.usable.max &&
      churn.seconds >= (2 * churn.usable.max) / churn.speed! &&
      !(churn.behind! > 0),
    outcome: ({ usable, runsOut, speedText, early }) => {
      const firstSecond = usable.max - 1;
      return {
        connections: { min: runsOut.min, max: runsOut.max === null ? null : runsOut.max + firstSecond },
        limit: 'time-wait',
        error: stopsWith('EADDRNOTAVAIL'),
        why: `net.ipv4.tcp_tw_reuse=1 with timestamps, on a kernel without net.ipv4.tcp_tw_reuse_delay (before Linux 6.14): a TIME_WAIT port is free again at the next whole second after its last timestamp (tcp_twsk_unique), so the ports used in one second come back together when the next begins, and no second gives more than the ${formatCount(usable.max)} ports; at ${speedText} the first whole second runs out: EADDRNOTAVAIL after the first, partial second's 0 to ${formatCount(firstSecond)} and that second's ${showCount(usable)} ${early.why}`,
      };
    },
  },
  {
    // Faster than the longest wait, slower than the shortest (a kernel without tcp_tw_reuse_delay): whether the
    // ports come back in time depends on where in its second each connection's last timestamp fell.
    applies: (churn) => churn.reuse && churn.speed! * churn.reuseAge.min <= churn.usable.max,
    outcome: ({ rate, speed, paced, usable, reuseAge, speedText, runsOut, early }) => ({
      connections: eitherCount(runsOut, rate ? paced.count : { min: usable.max + 1, max: null }),
      limit: 'time-wait',
      error: { errnos: ['EADDRNOTAVAIL'], orNone: true },
      why: `net.ipv4.tcp_tw_reuse=1 with timestamps, and connect() takes a TIME_WAIT port once it is ${reuseAge.text} old (tcp_twsk_unique): at ${speedText} the ${formatCount(usable.max)} ports last ${(usable.max / speed!).toFixed(2)} s, inside that interval, so it runs out (EADDRNOTAVAIL after ${showCount(usable)} ${early.why}) if its ports come back late in it, and churns its whole duration if early`,
    }),
  },
  {
    applies: (churn) => churn.reuse,
    outcome: ({ runsOut, usable, reuseAge, speedText, early }) => ({
      connections: runsOut,
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
      why: `net.ipv4.tcp_tw_reuse=1, but at ${speedText} the ${formatCount(usable.max)} ports are used up within ${reuseAge.text}, before any TIME_WAIT is old enough to reuse (tcp_twsk_unique): EADDRNOTAVAIL after ${showCount(usable)} ${early.why} = ${showCount(runsOut)}`,
    }),
  },
  {
    applies: (churn) => churn.speed! * churn.window < churn.usable.min,
    outcome: (churn) => ({
      connections: churn.paced.count,
      limit: 'none',
      error: NO_STOP,
      why: `${noReuseText(churn.twReuse)}, but ${churn.speedText} over ${churn.window} s puts fewer than ${formatCount(churn.usable.min)} ports in TIME_WAIT at once: no failure; ${churn.paced.text}`,
    }),
  },
  {
    applies: () => true,
    outcome: (churn) => ({
      connections: churn.runsOut,
      limit: 'time-wait',
      error: stopsWith('EADDRNOTAVAIL'),
      why: `${noReuseText(churn.twReuse)}: at ${churn.speedText} the ports fill with TIME_WAIT in about ${(churn.usable.max / churn.speed!).toFixed(1)} s, and connect() fails with EADDRNOTAVAIL after ${showCount(churn.usable)} ${churn.early.why} = ${showCount(churn.runsOut)}`,
    }),
  },
];

const noReuseText = (twReuse: string) =>
  twReuse === '1'
    ? 'net.ipv4.tcp_tw_reuse=1 but timestamps are off, so no reuse'
    : `net.ipv4.tcp_tw_reuse=${twReuse}${twReuse === '2' ? ' (loopback only; container traffic gets no reuse)' : ''}`;

/** Churn: connect, close, repeat. Whether the client runs out depends on who closes first and on tcp_tw_reuse. */
export function predictChurningClient(
  scenario: Scenario,
  group: ClientGroup,
  env: Environment,
  name: string,
  key: string,
): ClientPrediction {
  const facts = env.containers[name];
  const targets = targetsOf(scenario, group);
  const ports = portCapacity(group, env, facts);
  const local = localPortLimit(group, ports, targets);
  const workers = planWorkers({
    requested: group.ulimits.nofile,
    processes: group.processes === 'auto' ? 1 : group.processes,
    fdsOpen: facts?.fdsOpen ?? env.probeFdsOpen,
    demand: 1,
    grantedNofile: facts?.nofile,
    ran: facts?.workers,
    env,
  });
  const churn = churnOf(group, env, name, key, local.connections, workers.processes);
  const outcome = CHURN_CASES.find((candidate) => candidate.applies(churn))!.outcome(churn);
  const reasoning = churn.serverCloses
    ? local.reasoning
    : [
        ...local.reasoning,
        `the client closes first: each closed connection keeps its local port for this destination in TIME_WAIT for ${TIME_WAIT_SECONDS} s (tcp_fin_timeout does not shorten it)`,
      ];
  const { why, ...decided } = outcome;
  return clientPrediction({ name, group, workers, targets, ports }, decided, [...reasoning, why]);
}

/** The facts a churning client's cases are decided from: its sysctls as applied, its speed, its pace. */
function churnOf(group: ClientGroup, env: Environment, name: string, key: string, usable: Churn['usable'], processes: number): Churn {
  const applied = env.containers[name];
  const sysctl = (name: keyof typeof NAMESPACE_SYSCTL_DEFAULTS) =>
    applied?.sysctls?.[name] ?? group.sysctls[name] ?? NAMESPACE_SYSCTL_DEFAULTS[name];
  const seconds = durationMs(group.duration ?? '0s') / 1000;
  const rate = group.rate;
  // Without a rate the client churns as fast as this engine lets it: known once its probe reports (this run's own),
  // guessed before the run from what earlier runs here reached.
  const own = env.churnSpeeds?.[key];
  const speed = rate ?? own ?? env.churnRate;
  const early = killedTimeWaits(env, key, seconds, sysctl('net.ipv4.tcp_rfc1337'));
  // The kills the probe counted bound the extra connections: one that came after the failure freed a port no connect() used.
  const runsOut: CountRange = early.killed === null ? { min: usable.min, max: null } : { min: usable.min, max: usable.max + early.killed };
  const twReuse = sysctl('net.ipv4.tcp_tw_reuse');
  return {
    usable,
    runsOut,
    early,
    rate,
    speed,
    speedText: rate
      ? `${formatCount(rate)}/s`
      : own !== undefined
        ? `${formatCount(Math.round(own))}/s (its own speed in this run, as its probe reported it)`
        : `${formatCount(speed ?? 0)}/s (the speed unpaced churns reached on this engine before)`,
    paced: pacedCount(rate, seconds, processes, env.paceBehind?.[key]),
    serverCloses: group.close === 'server',
    buckets: Number(
      applied?.sysctls?.['net.ipv4.tcp_max_tw_buckets'] ?? group.sysctls['net.ipv4.tcp_max_tw_buckets'] ?? Number.MAX_SAFE_INTEGER,
    ),
    twReuse,
    // With tcp_tw_reuse=1 a TIME_WAIT port may be taken again once it is this old (tcp_twsk_unique); 2 reuses only
    // to loopback, and a scenario's server is another container.
    reuse: twReuseApplies(twReuse, sysctl('net.ipv4.tcp_timestamps'), false),
    reuseAge: reuseAgeOf(applied?.sysctls, sysctl('net.ipv4.tcp_tw_reuse_delay'), env.kernel),
    window: Math.min(seconds, TIME_WAIT_SECONDS),
    seconds,
    behind: env.paceBehind?.[key],
  };
}

/**
 * A paced churn connects k at k x processes / rate seconds for every such time before the duration (the probe's
 * schedule), so it makes processes x ceil(rate x duration / processes) connections if it keeps its pace. A worker that
 * falls behind (the CPU) makes fewer; the probe says by how many.
 */
function pacedCount(
  rate: number | undefined,
  seconds: number,
  processes: number,
  behind: number | undefined,
): { count: CountRange; text: string } {
  if (!rate) return { count: { min: 1, max: null }, text: 'as many as it can in the duration' };
  const scheduled = processes * Math.ceil((Math.round(seconds * 1000) * rate) / (1000 * processes));
  const schedule = `${formatCount(rate)}/s for ${seconds} s: connect k at k/${formatCount(rate)} s while that is before the end = ${formatCount(scheduled)}`;
  if (behind === undefined) return { count: exactCount(scheduled), text: `${schedule} if the probe keeps its pace` };
  return {
    count: exactCount(scheduled - behind),
    text:
      behind === 0
        ? `${schedule} (it kept its pace)`
        : `${schedule} - ${formatCount(behind)} it fell behind its schedule (the CPU) = ${formatCount(scheduled - behind)}`,
  };
}
