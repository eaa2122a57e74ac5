/**
 * The largest values a scenario may ask for: what the probe (images/probe/*.c, its #defines and int fields)
 * and the kernel can represent. Checked where a scenario enters, so no value the probe cannot hold reaches it.
 */
export const BOUNDS = {
  /** probe.c MAX_PORTS: listening ports of the server, targets of a client or a phase. */
  ports: 16,
  /** probe.c MAX_WORKERS: worker processes of one container. */
  processes: 256,
  /** options.c MAX_PHASES. */
  phases: 8,
  /** probe.c MAX_SOURCES. */
  sourceAddresses: 8,
  clients: 64,
  /** fs.nr_open's default (1 << 20): the kernel refuses a higher nofile unless the host raised nr_open. */
  nofile: 1_048_576,
  /** listen()'s backlog is an int (the kernel caps it at net.core.somaxconn). */
  backlog: 2_147_483_647,
  /** Churn pacing, connections per second per container. */
  rate: 1_000_000,
  /** How long a run may hold or churn. */
  durationMs: 24 * 3_600_000,
  /** connect()'s deadline: the probe keeps it in an int of milliseconds; longer than the kernel's own SYN retries is pointless. */
  connectTimeoutMs: 10 * 60_000,
  /** options.c MIN_OBSERVE_INTERVAL_MS and MAX_OBSERVE_INTERVAL_MS: how often an observer looks, at most and least. */
  observeEveryMinMs: 10,
  observeEveryMaxMs: 60_000,
  /** Connections an application is expected to hold (expect.holds): more than one host can. */
  holds: 2_147_483_647,
  /** Tolerance in connections. */
  tolerance: 2_147_483_647,
  /** A scenario's name is part of container, network and file names. */
  nameLength: 48,
  /** A scenario file is read whole; anything larger is not a scenario. */
  fileBytes: 1_048_576,
  /** A sysctl value as text. */
  sysctlValueLength: 1_024,
} as const;
