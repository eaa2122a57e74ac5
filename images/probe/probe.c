/*
 * portlab probe: the one program inside every portlab container.
 *
 *   probe limits
 *   probe sysctls
 *   probe server --ports 5000[,5001] --backlog N --processes K --fd-budget B [--close never|on-eof|first] [--family dual]
 *   probe observe --role server|client --ports 80[,443] [--interval-ms 250]   (images/probe/observer.c)
 *   probe inspect   (images/probe/inspect.c: one look at the namespaces it was started in)
 *   probe client --server HOST --ports 5000[,5001] --mode hold|churn --processes K --fd-budget B
 *                [--close client|server] [--rate PER_SECOND]
 *                --connect-timeout-ms T [--duration-ms D] [--handoff]
 *                [--bind zero | zero-noport | port:N | port:N:reuseaddr] [--sources N] [--socket-port-range LOW:HIGH]
 *                [--family 4|6|dual]
 *
 * It writes one JSON object per line on stdout (the README, "How a run works"): `ready` with what it found in its
 * container, `progress` per worker, `limit` when a server worker runs out of descriptors, `done` per worker
 * with the count and the errno name that stopped it, and `fatal` when it cannot run at all. Each line is one
 * write() shorter than PIPE_BUF, so lines from concurrent workers never interleave.
 *
 * Workers are forked processes sharing the container's network namespace (and so its port range). Together
 * they hold --fd-budget descriptors: worker i takes min(soft nofile - fds open, what is left) and lowers its
 * own soft limit to that, so the kernel itself reports EMFILE where the scenario's nofile would.
 *
 * With --handoff, client workers take turns instead of connecting at once: worker i+1 starts only when worker i
 * has used its share (its `done` says reason "handoff"). The container then fills its port range exactly as one
 * process with the whole budget would, and the kernel's port search (__inet_hash_connect, which remembers where
 * the last search ended) is not thrown off by several searches racing over the same ports.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* linux/in.h, since 4.2 */
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51 /* linux/in.h, since 6.3 */
#endif

#define MAX_PORTS 16
#define MAX_SOURCES 8
#define IFNAMSIZ_PLAIN 16
#define MAX_WORKERS 256
#define MAX_BOUND 64
#define LINE_MAX_BYTES 4000

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t handoff_received = 0;
static volatile sig_atomic_t child_exited = 0;
static struct timespec started;
/* Wall-clock time at `started`, in ms since the epoch: every container of a run reads the same host clock, so
   the orchestrator can put all their series on one time axis. */
static long long started_epoch_ms;

static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void on_handoff_signal(int sig) {
  (void)sig;
  handoff_received = 1;
}

static volatile sig_atomic_t go_received = 0;
/* A server's PID 1 passes SIGUSR2 on to its workers (report and keep holding); a client's uses it as its go. */
static int forward_report = 0;

static void on_go_signal(int sig) {
  (void)sig;
  go_received = 1;
}

static void on_child_signal(int sig) {
  (void)sig;
  child_exited = 1;
}

static long long elapsed_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)(now.tv_sec - started.tv_sec) * 1000 + (now.tv_nsec - started.tv_nsec) / 1000000;
}

/*
 * Whether a `progress` line is due, `last` being when the previous one was written. The interval grows with the
 * probe's age (1% of it, from 10 ms to 1 s), so a run of a second has ~100 points and a run of minutes a few
 * hundred more: a smooth curve for the report without a flood of lines through the engine's log driver.
 */
static long long progress_interval(long long now) {
  long long interval = now / 100;
  if (interval < 10) interval = 10;
  if (interval > 1000) interval = 1000;
  return interval;
}

static int progress_due(long long now, long long last) { return now - last >= progress_interval(now); }

/* How long a server may sleep in poll(): until its next progress line is due when it has news, else a second. */
static int server_wait_ms(long long accepted, long long reported, long long last) {
  if (accepted == reported) return 1000;
  long long left = last + progress_interval(elapsed_ms()) - elapsed_ms();
  return left < 1 ? 1 : (int)left;
}

/* One JSON line, written with a single write(2). */
static void emit(const char *fmt, ...) {
  char line[LINE_MAX_BYTES];
  va_list args;
  va_start(args, fmt);
  int len = vsnprintf(line, sizeof line - 2, fmt, args);
  va_end(args);
  if (len < 0) return;
  if (len > (int)sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t off = 0;
  while (off < len) {
    ssize_t n = write(STDOUT_FILENO, line + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += n;
  }
}

static const char *errno_name(int err) {
  switch (err) {
    case 0: return "none";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECHILD: return "ECHILD";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ECONNABORTED: return "ECONNABORTED";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EINVAL: return "EINVAL";
    default: {
      static char unknown[16];
      snprintf(unknown, sizeof unknown, "E%d", err);
      return unknown;
    }
  }
}

static void fatal(const char *what, int err) {
  emit("{\"event\":\"fatal\",\"message\":\"%s\",\"errno\":\"%s\",\"t\":%lld}", what, errno_name(err), elapsed_ms());
  exit(2);
}

/* ---- what the container gives us ---------------------------------------------------------------- */

static int read_text(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
  return 0;
}

static long read_long(const char *path, long fallback) {
  char buf[64];
  return read_text(path, buf, sizeof buf) == 0 ? strtol(buf, NULL, 10) : fallback;
}

static int count_open_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] != '.') count++;
  }
  closedir(dir);
  return count - 1; /* the directory's own descriptor */
}

/* Calls `visit` with the local port and the state (hex, "0A" is LISTEN, "06" TIME_WAIT) of every TCP socket of
   this network namespace, from /proc/net/tcp and /proc/net/tcp6. */
static void for_each_tcp_socket(void (*visit)(int port, const char *state, void *arg), void *arg) {
  const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  for (int f = 0; f < 2; f++) {
    FILE *file = fopen(files[f], "re");
    if (!file) continue;
    char line[512], local[64], state[8];
    while (fgets(line, sizeof line, file)) {
      /* "  sl  local_address rem_address   st ...": the header line does not parse */
      if (sscanf(line, " %*d: %63s %*s %7s", local, state) != 2) continue;
      char *port = strrchr(local, ':');
      if (port) visit((int)strtol(port + 1, NULL, 16), state, arg);
    }
    fclose(file);
  }
}

struct port_set { int *ports; int count; int max; };

/* An observer starts after the application it observes: only listening sockets were bound before the application
   connected (Docker's DNS listener among them), so only they count as bound ports. */
static int listeners_only = 0;

static void add_port(int port, const char *state, void *arg) {
  struct port_set *set = arg;
  if (listeners_only && strcmp(state, "0A")) return;
  for (int i = 0; i < set->count; i++) if (set->ports[i] == port) return;
  if (set->count < set->max) set->ports[set->count++] = port;
}

/* TCP ports bound in this network namespace: every local port in use. */
static int bound_ports(int *ports, int max) {
  struct port_set set = {.ports = ports, .count = 0, .max = max};
  for_each_tcp_socket(add_port, &set);
  return set.count;
}

static void count_if_time_wait(int port, const char *state, void *arg) {
  (void)port;
  if (!strcmp(state, "06")) (*(int *)arg)++;
}

/* Sockets of this network namespace in TIME_WAIT. */
static int count_time_wait(void) {
  int count = 0;
  for_each_tcp_socket(count_if_time_wait, &count);
  return count;
}

static void count_if_closing(int port, const char *state, void *arg) {
  (void)port;
  /* FIN_WAIT1, FIN_WAIT2, CLOSING: closed by this side, not yet in TIME_WAIT */
  if (!strcmp(state, "04") || !strcmp(state, "05") || !strcmp(state, "0B")) (*(int *)arg)++;
}

/*
 * Waits (up to limit_ms) until no socket of this namespace is between close() and TIME_WAIT. An orphaned socket
 * enters the kernel's timewait table in FIN_WAIT2 (tcp_time_wait(sk, TCP_FIN_WAIT2, ...)), which is when TcpExt TW
 * counts it, and moves to TIME_WAIT when the peer's FIN comes: until then the counter and the TIME_WAIT count
 * disagree by the sockets in flight, not by any killed.
 */
static void settle_closing(long long limit_ms) {
  long long until = elapsed_ms() + limit_ms;
  for (;;) {
    int closing = 0;
    for_each_tcp_socket(count_if_closing, &closing);
    if (closing == 0 || elapsed_ms() >= until) return;
    usleep(20000);
  }
}

/* Established TCP entries of this namespace's conntrack table (/proc/net/nf_conntrack); -1 where it cannot be read. */
static long conntrack_established(void) {
  FILE *table = fopen("/proc/net/nf_conntrack", "re");
  if (!table) return -1;
  char line[512];
  long established = 0;
  while (fgets(line, sizeof line, table)) {
    if (strstr(line, " tcp ") && strstr(line, " ESTABLISHED ")) established++;
  }
  fclose(table);
  return established;
}

/*
 * Sockets this network namespace has put in its timewait table so far: TcpExt's TW counter in /proc/net/netstat
 * (counted as tcp_time_wait() schedules each one, in FIN_WAIT2 or TIME_WAIT); -1 where the kernel does not say.
 * Against the TIME_WAIT count once closing sockets have settled (settle_closing) it shows how many left early:
 * killed by an RST (RFC 1337), their ports free again.
 */
static long long time_wait_entered(void) {
  char text[16384];
  if (read_text("/proc/net/netstat", text, sizeof text) != 0) return -1;
  char *names = strstr(text, "TcpExt: ");
  char *names_end = names ? strchr(names, '\n') : NULL;
  if (!names_end) return -1;
  *names_end = 0;
  char *values = strstr(names_end + 1, "TcpExt: ");
  if (!values) return -1;
  char *values_end = strchr(values, '\n');
  if (values_end) *values_end = 0;
  char *name_save = NULL, *value_save = NULL;
  char *name = strtok_r(names + 8, " ", &name_save);
  char *value = strtok_r(values + 8, " ", &value_save);
  while (name && value) {
    if (!strcmp(name, "TW")) return strtoll(value, NULL, 10);
    name = strtok_r(NULL, " ", &name_save);
    value = strtok_r(NULL, " ", &value_save);
  }
  return -1;
}

/* Sockets of this network namespace in TIME_WAIT, from the `tw` field of /proc/net/sockstat: one short read, cheap
   enough for every progress line (the namespace's tcp_death_row count; /proc/net/tcp would list every socket). */
static int time_wait_now(void) {
  char text[1024];
  if (read_text("/proc/net/sockstat", text, sizeof text) != 0) return -1;
  const char *tcp = strstr(text, "TCP: ");
  const char *tw = tcp ? strstr(tcp, " tw ") : NULL;
  return tw ? (int)strtol(tw + 4, NULL, 10) : -1;
}

static void emit_ready(const char *role, int processes, long long budget, const char *extra) {
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  char range[64] = "0 0", reserved[512] = "", tw_reuse[16] = "", timestamps[16] = "", fin_timeout[16] = "";
  read_text("/proc/sys/net/ipv4/ip_local_port_range", range, sizeof range);
  read_text("/proc/sys/net/ipv4/ip_local_reserved_ports", reserved, sizeof reserved);
  read_text("/proc/sys/net/ipv4/tcp_tw_reuse", tw_reuse, sizeof tw_reuse);
  read_text("/proc/sys/net/ipv4/tcp_timestamps", timestamps, sizeof timestamps);
  read_text("/proc/sys/net/ipv4/tcp_fin_timeout", fin_timeout, sizeof fin_timeout);
  /* Read only where the kernel has them: tcp_tw_reuse_delay came with Linux 6.14 (before, the delay is 1 s). */
  char more[192] = "", value[32];
  if (read_text("/proc/sys/net/ipv4/tcp_tw_reuse_delay", value, sizeof value) == 0)
    snprintf(more + strlen(more), sizeof more - strlen(more), ",\"net.ipv4.tcp_tw_reuse_delay\":\"%s\"", value);
  if (read_text("/proc/sys/net/ipv4/tcp_rfc1337", value, sizeof value) == 0)
    snprintf(more + strlen(more), sizeof more - strlen(more), ",\"net.ipv4.tcp_rfc1337\":\"%s\"", value);
  if (read_text("/proc/sys/net/ipv4/tcp_max_tw_buckets", value, sizeof value) == 0)
    snprintf(more + strlen(more), sizeof more - strlen(more), ",\"net.ipv4.tcp_max_tw_buckets\":\"%s\"", value);
  long low = 0, high = 0;
  sscanf(range, "%ld %ld", &low, &high);
  int ports[MAX_BOUND];
  int nports = bound_ports(ports, MAX_BOUND);
  char bound[MAX_BOUND * 7 + 2] = "";
  for (int i = 0, off = 0; i < nports; i++) off += snprintf(bound + off, sizeof bound - off, "%s%d", i ? "," : "", ports[i]);
  emit("{\"event\":\"ready\",\"role\":\"%s\",\"t\":%lld,\"nofile\":{\"soft\":%llu,\"hard\":%llu},\"fdsOpen\":%d,"
       "\"portRange\":{\"low\":%ld,\"high\":%ld},\"boundPorts\":[%s],\"reservedPorts\":\"%s\",\"somaxconn\":%ld,"
       "\"sysctls\":{\"net.ipv4.tcp_tw_reuse\":\"%s\",\"net.ipv4.tcp_timestamps\":\"%s\",\"net.ipv4.tcp_fin_timeout\":\"%s\"%s},"
       "\"processes\":%d,\"fdBudget\":%lld,\"epochMs\":%lld%s}",
       role, elapsed_ms(), (unsigned long long)limit.rlim_cur, (unsigned long long)limit.rlim_max, count_open_fds(), low, high,
       bound, reserved, read_long("/proc/sys/net/core/somaxconn", -1), tw_reuse, timestamps, fin_timeout, more, processes, budget,
       started_epoch_ms, extra ? extra : "");
}

/* ---- options -------------------------------------------------------------------------------------- */

/* One thing a client does: hold or churn, to some server ports; a client runs one step, or its phases in order. */
struct step {
  int phase; /* 1-based; 0 when the client has no phases */
  const char *mode;
  int ports[MAX_PORTS];
  int nports;
  long long duration_ms;
  int rate;
  const char *close;
};

#define MAX_PHASES 8
#define MIN_OBSERVE_INTERVAL_MS 10    /* observe --interval-ms */
#define MAX_OBSERVE_INTERVAL_MS 60000
static struct step phase_list[MAX_PHASES];

struct options {
  const char *role;
  const char *server;
  int ports[MAX_PORTS];
  int nports;
  int backlog;
  int processes;
  long long fd_budget;
  int connect_timeout_ms;
  long long duration_ms;
  const char *mode;
  int handoff;
  enum { BIND_NONE, BIND_ZERO, BIND_ZERO_NOPORT, BIND_PORT } bind_mode;
  int bind_port;
  int bind_reuseaddr;
  int sources;
  int families;      /* client: FAMILY_V4 | FAMILY_V6, each server port a destination in each; server: listens on both when it has FAMILY_V6 */
  uint32_t socket_port_range; /* IP_LOCAL_PORT_RANGE for every client socket: high << 16 | low; 0 = none */
  const char *close; /* server: never | on-eof | first; client (churn): client | server */
  int rate;          /* churn: connections per second per container, 0 = as fast as possible */
  struct step *phases;
  int nphases;
  const char *observe_role; /* observe: server | client */
  int interval_ms;          /* observe: between observations */
  char **exec_argv;         /* observe: the application to start as its child (after `--`), or NULL */
};

#define FAMILY_V4 1
#define FAMILY_V6 2

/* --family 4 | 6 | dual: which of the server's addresses a client connects to (dual: both, each port twice). */
static int parse_family(const char *text) {
  if (!strcmp(text, "4")) return FAMILY_V4;
  if (!strcmp(text, "6")) return FAMILY_V6;
  if (!strcmp(text, "dual")) return FAMILY_V4 | FAMILY_V6;
  fatal("--family takes 4, 6 or dual", EINVAL);
  return 0;
}

static void parse_bind(const char *text, struct options *o) {
  if (!strcmp(text, "zero")) o->bind_mode = BIND_ZERO;
  else if (!strcmp(text, "zero-noport")) o->bind_mode = BIND_ZERO_NOPORT;
  else if (!strncmp(text, "port:", 5)) {
    char *rest;
    o->bind_mode = BIND_PORT;
    o->bind_port = (int)strtol(text + 5, &rest, 10);
    if (o->bind_port < 1 || o->bind_port > 65535) fatal("--bind port:N takes a port from 1 to 65535", EINVAL);
    if (!strcmp(rest, ":reuseaddr")) o->bind_reuseaddr = 1;
    else if (*rest) fatal("--bind port:N takes only :reuseaddr after the port", EINVAL);
  } else fatal("--bind takes zero, zero-noport or port:N[:reuseaddr]", EINVAL);
}

/* --socket-port-range LOW:HIGH, as IP_LOCAL_PORT_RANGE takes it: high << 16 | low. */
static uint32_t parse_socket_port_range(const char *text) {
  char *rest;
  long low = strtol(text, &rest, 10), high = *rest == ':' ? strtol(rest + 1, &rest, 10) : -1;
  if (*rest || low < 1 || high < low || high > 65535) fatal("--socket-port-range takes LOW:HIGH, 1 <= LOW <= HIGH <= 65535", EINVAL);
  return (uint32_t)high << 16 | (uint32_t)low;
}

static int parse_port_list(const char *text, char separator, int *ports) {
  int count = 0;
  for (const char *p = text; *p && *p != ':' && count < MAX_PORTS;) {
    ports[count++] = (int)strtol(p, (char **)&p, 10);
    if (*p == separator) p++;
    else if (*p && *p != ':') fatal("a port list takes numbers separated by , (or + in --phase)", EINVAL);
  }
  return count;
}

static void parse_ports(const char *text, struct options *o) { o->nports = parse_port_list(text, ',', o->ports); }

/* --phase MODE:PORT[+PORT]:DURATION_MS:RATE:CLOSE, e.g. churn:5000:10000:500:client or hold:5001:0:0:client */
static void parse_phase(char *text, struct options *o) {
  if (o->nphases >= MAX_PHASES) fatal("at most 8 phases", EINVAL);
  struct step *step = &phase_list[o->nphases];
  char *fields[5] = {0};
  for (int i = 0; i < 5; i++) fields[i] = strsep(&text, ":");
  if (!fields[4]) fatal("--phase takes MODE:PORTS:DURATION_MS:RATE:CLOSE", EINVAL);
  *step = (struct step){.phase = o->nphases + 1, .mode = fields[0], .duration_ms = atoll(fields[2]), .rate = atoi(fields[3]), .close = fields[4]};
  step->nports = parse_port_list(fields[1], '+', step->ports);
  if (strcmp(step->mode, "hold") && strcmp(step->mode, "churn")) fatal("a phase's mode is hold or churn", EINVAL);
  if (!strcmp(step->mode, "churn") && step->duration_ms <= 0) fatal("a churn phase needs a duration", EINVAL);
  o->phases = phase_list;
  o->nphases++;
}

static struct options parse_options(int argc, char **argv) {
  struct options o = {.role = argc > 1 ? argv[1] : "", .server = "server", .nports = 0, .backlog = 4096, .processes = 1,
                      .fd_budget = -1, .connect_timeout_ms = 5000, .duration_ms = 0, .mode = "hold", .close = NULL,
                      .observe_role = "server", .interval_ms = 250, .families = FAMILY_V4};
  for (int i = 2; i < argc; i++) {
    const char *key = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(key, "--handoff")) { o.handoff = 1; continue; }
    if (!strcmp(key, "--")) {
      if (i + 1 >= argc) fatal("-- takes the application's command after it", EINVAL);
      o.exec_argv = argv + i + 1;
      break;
    }
    if (!value) fatal("an option lacks its value", EINVAL);
    if (!strcmp(key, "--ports")) parse_ports(value, &o);
    else if (!strcmp(key, "--server")) o.server = value;
    else if (!strcmp(key, "--backlog")) o.backlog = atoi(value);
    else if (!strcmp(key, "--processes")) o.processes = atoi(value);
    else if (!strcmp(key, "--fd-budget")) o.fd_budget = atoll(value);
    else if (!strcmp(key, "--connect-timeout-ms")) o.connect_timeout_ms = atoi(value);
    else if (!strcmp(key, "--duration-ms")) o.duration_ms = atoll(value);
    else if (!strcmp(key, "--mode")) o.mode = value;
    else if (!strcmp(key, "--bind")) parse_bind(value, &o);
    else if (!strcmp(key, "--sources")) o.sources = atoi(value);
    else if (!strcmp(key, "--family")) o.families = parse_family(value);
    else if (!strcmp(key, "--socket-port-range")) o.socket_port_range = parse_socket_port_range(value);
    else if (!strcmp(key, "--close")) o.close = value;
    else if (!strcmp(key, "--rate")) o.rate = atoi(value);
    else if (!strcmp(key, "--phase")) parse_phase(argv[i + 1], &o);
    else if (!strcmp(key, "--role")) o.observe_role = value;
    else if (!strcmp(key, "--interval-ms")) o.interval_ms = atoi(value);
    else fatal("unknown option", EINVAL);
    i++;
  }
  if (o.processes < 1 || o.processes > MAX_WORKERS) fatal("--processes must be 1..256", EINVAL);
  if (o.interval_ms < MIN_OBSERVE_INTERVAL_MS || o.interval_ms > MAX_OBSERVE_INTERVAL_MS) fatal("--interval-ms must be 10..60000", EINVAL);
  if (strcmp(o.observe_role, "server") && strcmp(o.observe_role, "client")) fatal("--role is server or client", EINVAL);
  return o;
}

/* ---- workers -------------------------------------------------------------------------------------- */

/* Worker i's share of the budget, and its soft nofile lowered to match (stdio and listeners stay open). */
static long long take_budget(int index, long long total, int fds_open) {
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  long long per_worker = (long long)limit.rlim_cur - fds_open;
  if (total < 0) return per_worker;
  long long budget = total - (long long)index * per_worker;
  if (budget > per_worker) budget = per_worker;
  if (budget < 0) budget = 0;
  limit.rlim_cur = (rlim_t)(budget + fds_open);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) fatal("setrlimit(RLIMIT_NOFILE) failed", errno);
  return budget;
}

static pid_t workers[MAX_WORKERS];
static int nworkers = 0;

/* PID 1 of the container: forward SIGTERM to the workers, reap them, exit when all are gone. */
static int supervise(void) {
  int failed = 0, forwarded = 0;
  while (nworkers > 0) {
    if (stop_requested && !forwarded) {
      for (int i = 0; i < nworkers; i++) kill(workers[i], SIGTERM);
      forwarded = 1;
    }
    /* A server asked to report and keep what it holds (a kept run): its workers each print their final counts. */
    if (forward_report && go_received && !stop_requested) {
      go_received = 0;
      for (int i = 0; i < nworkers; i++) kill(workers[i], SIGUSR2);
    }
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < nworkers; i++) {
      if (workers[i] != pid) continue;
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        failed = 1;
        emit("{\"event\":\"fatal\",\"message\":\"worker %d exited with status %d\",\"errno\":\"none\",\"t\":%lld}", i,
             WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), elapsed_ms());
      }
      workers[i] = workers[--nworkers];
      break;
    }
  }
  return failed ? 1 : 0;
}

static sigset_t unblocked;

static void spawn_one(int index, void (*body)(int index, void *arg), void *arg) {
  pid_t pid = fork();
  if (pid < 0) fatal("fork failed", errno);
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &unblocked, NULL);
    body(index, arg);
    _exit(0);
  }
  workers[nworkers++] = pid;
}

static void spawn(int processes, void (*body)(int index, void *arg), void *arg) {
  for (int i = 0; i < processes; i++) spawn_one(i, body, arg);
}

/* Workers one after another: the next starts when the current one signals that it has used its share. */
static void spawn_in_turn(int processes, void (*body)(int index, void *arg), void *arg) {
  sigset_t waiting;
  sigemptyset(&waiting);
  sigaddset(&waiting, SIGUSR1);
  sigaddset(&waiting, SIGCHLD);
  sigaddset(&waiting, SIGTERM);
  sigaddset(&waiting, SIGINT);
  sigprocmask(SIG_BLOCK, &waiting, &unblocked);
  for (int i = 0; i < processes && !stop_requested && !child_exited; i++) {
    handoff_received = 0;
    spawn_one(i, body, arg);
    if (i == processes - 1) break;
    while (!handoff_received && !stop_requested && !child_exited) sigsuspend(&unblocked);
    if (!handoff_received) break;
  }
  sigprocmask(SIG_SETMASK, &unblocked, NULL);
}

/* The probe's clock (elapsed_ms and the epoch time in its ready line) starts now. */
static void start_clock(void) {
  clock_gettime(CLOCK_MONOTONIC, &started);
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  started_epoch_ms = (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
}

/*
 * With PORTLAB_WAIT_FOR_GO set (portlab sets it on the containers it starts, never in the saved compose file), a
 * client says it is waiting and does nothing until SIGUSR2: its container starts while the server's does, and its
 * clock starts when the server listens. The handler is installed before the line is written, so no SIGUSR2 sent
 * after it can be lost (an init process ignores signals it has no handler for).
 */
static void wait_for_go(void) {
  sigset_t waiting, before;
  sigemptyset(&waiting);
  sigaddset(&waiting, SIGUSR2);
  sigaddset(&waiting, SIGTERM);
  sigaddset(&waiting, SIGINT);
  sigprocmask(SIG_BLOCK, &waiting, &before);
  emit("{\"event\":\"waiting\",\"role\":\"client\",\"t\":%lld}", elapsed_ms());
  while (!go_received && !stop_requested) sigsuspend(&before);
  sigprocmask(SIG_SETMASK, &before, NULL);
  start_clock();
}

static void wait_for_stop(void) {
  while (!stop_requested) pause();
}

/*
 * A server worker waits for the end of the run (SIGTERM) or, in a kept run, for the word to print its final counts
 * and go on holding (SIGUSR2: the run has read what it measured, and the containers stay up to be looked at). It
 * naps rather than pause()s: a signal that lands between the check and the pause would otherwise be slept through.
 * Returns whether it was asked to report and keep.
 */
static int wait_for_stop_or_report(void) {
  while (!stop_requested && !go_received) {
    struct timespec nap = {0, 50 * 1000000L};
    nanosleep(&nap, NULL);
  }
  return !stop_requested;
}

/* The `done` reason of a server worker: the run ended (signal), or it reported and holds on (kept). */
static const char *server_end(int kept) { return kept ? "kept" : "signal"; }

/*
 * Once its final counts are out, a worker lets go of what it holds with a reset instead of a FIN (SO_LINGER 0):
 * one packet per connection rather than a FIN exchange and a TIME_WAIT on the side that closed, so the kernel tears
 * tens of thousands of connections down sooner (measured: default-range's containers went in 2.2-2.4 s instead of
 * 2.7-2.8 s). What the run measured is already printed; this is only the way out.
 */
static void reset_on_exit(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  struct linger reset = {.l_onoff = 1, .l_linger = 0};
  long last = limit.rlim_cur > 1 << 21 ? 1 << 21 : (long)limit.rlim_cur;
  for (int fd = 3; fd < last; fd++) {
    int type, listening;
    socklen_t length = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0 || type != SOCK_STREAM) continue;
    length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening) continue;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
}

/* ---- server --------------------------------------------------------------------------------------- */

struct server_ctx {
  struct options *o;
  int listeners[MAX_PORTS];
  int fds_open;
};

/*
 * A server for churning clients: accepted connections are closed, either at once (--close first: the server
 * sends the first FIN and keeps the TIME_WAIT) or when the client has closed its side (--close on-eof). Held
 * connections of clients that never close simply stay. One epoll instance per worker watches everything.
 */
static void server_churn_worker(int index, struct server_ctx *ctx, int close_first) {
  long long budget = take_budget(index, ctx->o->fd_budget, ctx->fds_open + 1);
  long long accepted = 0, reported = 0, last_report = elapsed_ms();
  int stopped_by = 0;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fatal("epoll_create1 failed", errno);
  for (int i = 0; i < ctx->o->nports; i++) {
    struct epoll_event event = {.events = EPOLLIN, .data.fd = -1 - i};
    epoll_ctl(ep, EPOLL_CTL_ADD, ctx->listeners[i], &event);
  }
  emit("{\"event\":\"worker\",\"role\":\"server\",\"worker\":%d,\"pid\":%d,\"budget\":%lld,\"t\":%lld}", index, getpid(), budget, elapsed_ms());
  struct epoll_event events[256];
  while (!stop_requested && !go_received) {
    int n = epoll_wait(ep, events, 256, server_wait_ms(accepted, reported, last_report));
    if (n < 0 && errno != EINTR) fatal("epoll_wait failed", errno);
    for (int e = 0; e < n; e++) {
      int tag = events[e].data.fd;
      if (tag >= 0) { /* a connection: the client closed (EOF) or reset it */
        char buffer[256];
        if (read(tag, buffer, sizeof buffer) <= 0) close(tag);
        continue;
      }
      for (;;) {
        int fd = accept4(ctx->listeners[-1 - tag], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
          if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED && !stopped_by) {
            stopped_by = errno;
            emit("{\"event\":\"limit\",\"role\":\"server\",\"worker\":%d,\"count\":%lld,\"errno\":\"%s\",\"t\":%lld}", index, accepted,
                 errno_name(errno), elapsed_ms());
          }
          break;
        }
        accepted++;
        if (close_first) {
          close(fd);
          continue;
        }
        struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &event) != 0) close(fd);
      }
    }
    long long now = elapsed_ms();
    if (accepted != reported && progress_due(now, last_report)) {
      emit("{\"event\":\"progress\",\"role\":\"server\",\"worker\":%d,\"count\":%lld,\"timeWait\":%d,\"t\":%lld}", index, accepted,
           time_wait_now(), now);
      reported = accepted;
      last_report = now;
    }
  }
  int kept = !stop_requested;
  emit("{\"event\":\"done\",\"role\":\"server\",\"worker\":%d,\"count\":%lld,\"errno\":\"%s\",\"reason\":\"%s\",\"timeWait\":%d,\"t\":%lld}", index,
       accepted, errno_name(stopped_by), server_end(kept), count_time_wait(), elapsed_ms());
  if (kept) wait_for_stop();
  reset_on_exit();
}

static void server_worker(int index, void *arg) {
  struct server_ctx *ctx = arg;
  if (ctx->o->close && strcmp(ctx->o->close, "never") != 0) {
    server_churn_worker(index, ctx, !strcmp(ctx->o->close, "first"));
    return;
  }
  long long budget = take_budget(index, ctx->o->fd_budget, ctx->fds_open);
  long long accepted = 0, reported = 0, last_report = elapsed_ms();
  int stopped_by = 0;
  struct pollfd fds[MAX_PORTS];
  for (int i = 0; i < ctx->o->nports; i++) fds[i] = (struct pollfd){.fd = ctx->listeners[i], .events = POLLIN};
  emit("{\"event\":\"worker\",\"role\":\"server\",\"worker\":%d,\"pid\":%d,\"budget\":%lld,\"t\":%lld}", index, getpid(), budget, elapsed_ms());

  while (!stop_requested && !stopped_by && !go_received) {
    int ready = poll(fds, ctx->o->nports, server_wait_ms(accepted, reported, last_report));
    if (ready < 0 && errno != EINTR) fatal("poll failed", errno);
    for (int i = 0; ready > 0 && i < ctx->o->nports && !stopped_by; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      for (;;) {
        /* accept() takes the descriptor first: on EMFILE the connection stays in the accept queue. */
        int fd = accept4(ctx->listeners[i], NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) { accepted++; continue; }
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) break;
        stopped_by = errno;
        emit("{\"event\":\"limit\",\"role\":\"server\",\"worker\":%d,\"count\":%lld,\"errno\":\"%s\",\"t\":%lld}", index, accepted,
             errno_name(errno), elapsed_ms());
        break;
      }
    }
    long long now = elapsed_ms();
    if (accepted != reported && progress_due(now, last_report)) {
      emit("{\"event\":\"progress\",\"role\":\"server\",\"worker\":%d,\"count\":%lld,\"t\":%lld}", index, accepted, now);
      reported = accepted;
      last_report = now;
    }
  }
  if (accepted != reported) emit("{\"event\":\"progress\",\"role\":\"server\",\"worker\":%d,\"count\":%lld,\"t\":%lld}", index, accepted, elapsed_ms());
  int kept = wait_for_stop_or_report();
  /* A holding server closes nothing: its TIME_WAIT count is the namespace's `tw` (one short read), not a walk of
     /proc/net/tcp's tens of thousands of lines by every worker while the run waits for this line. */
  emit("{\"event\":\"done\",\"role\":\"server\",\"worker\":%d,\"count\":%lld,\"errno\":\"%s\",\"reason\":\"%s\",\"timeWait\":%d,\"t\":%lld}", index,
       accepted, errno_name(stopped_by), server_end(kept), time_wait_now(), elapsed_ms());
  if (kept) wait_for_stop();
  reset_on_exit();
}

static int run_server(struct options *o) {
  if (o->nports == 0) fatal("server needs --ports", EINVAL);
  struct server_ctx ctx = {.o = o};
  /* --family dual: one socket per port for both families (AF_INET6 with IPV6_V6ONLY off; an IPv4 client is seen as
     ::ffff:a.b.c.d), so one listener and one accept queue per port, as with IPv4 alone. */
  int dual = o->families & FAMILY_V6;
  for (int i = 0; i < o->nports; i++) {
    int fd = socket(dual ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) fatal("socket failed", errno);
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) fatal("IPV6_V6ONLY failed", errno);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(o->ports[i]), .sin_addr.s_addr = htonl(INADDR_ANY)};
    struct sockaddr_in6 addr6 = {.sin6_family = AF_INET6, .sin6_port = htons(o->ports[i]), .sin6_addr = in6addr_any};
    int bound = dual ? bind(fd, (struct sockaddr *)&addr6, sizeof addr6) : bind(fd, (struct sockaddr *)&addr, sizeof addr);
    if (bound != 0) fatal("bind failed", errno);
    if (listen(fd, o->backlog) != 0) fatal("listen failed", errno);
    ctx.listeners[i] = fd;
  }
  ctx.fds_open = count_open_fds();
  char extra[128];
  snprintf(extra, sizeof extra, ",\"backlog\":%d,\"listenPorts\":%d", o->backlog, o->nports);
  emit_ready("server", o->processes, o->fd_budget, extra);
  forward_report = 1;
  go_received = 0;
  spawn(o->processes, server_worker, &ctx);
  return supervise();
}

/* ---- client --------------------------------------------------------------------------------------- */

/* A minimal lookup of one A (family AF_INET) or AAAA (AF_INET6) record against the nameserver in /etc/resolv.conf
   (Docker's embedded DNS, which answers both on a network with IPv6). `out` is an in_addr or an in6_addr. */
static int resolve_address(const char *host, int family, void *out) {
  if (inet_pton(family, host, out) == 1) return 0;
  int qtype = family == AF_INET6 ? 28 : 1, rdsize = family == AF_INET6 ? 16 : 4;
  char conf[2048] = "", nameserver[64] = "127.0.0.11";
  if (read_text("/etc/resolv.conf", conf, sizeof conf) == 0) {
    char *line = strstr(conf, "nameserver");
    if (line) sscanf(line, "nameserver %63s", nameserver);
  }
  unsigned char query[512], answer[1024];
  int len = 0;
  unsigned short id = (unsigned short)(getpid() ^ elapsed_ms());
  unsigned char header[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(query, header, 12);
  len = 12;
  for (const char *label = host; *label;) {
    const char *dot = strchr(label, '.');
    int n = dot ? (int)(dot - label) : (int)strlen(label);
    if (n == 0 || n > 63 || len + n + 6 > (int)sizeof query) return -1;
    query[len++] = (unsigned char)n;
    memcpy(query + len, label, n);
    len += n;
    label += n + (dot ? 1 : 0);
  }
  query[len++] = 0;
  query[len++] = 0; query[len++] = (unsigned char)qtype; /* type A or AAAA */
  query[len++] = 0; query[len++] = 1; /* class IN */

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in ns = {.sin_family = AF_INET, .sin_port = htons(53)};
  inet_pton(AF_INET, nameserver, &ns.sin_addr);
  int result = -1;
  if (connect(fd, (struct sockaddr *)&ns, sizeof ns) == 0 && send(fd, query, len, 0) == len) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 1000) == 1) {
      ssize_t n = recv(fd, answer, sizeof answer, 0);
      int answers = n >= 12 ? (answer[6] << 8 | answer[7]) : 0;
      int at = len; /* the question is echoed back */
      for (int a = 0; a < answers && at < n; a++) {
        if ((answer[at] & 0xc0) == 0xc0) at += 2;
        else { while (at < n && answer[at]) at += answer[at] + 1; at++; }
        if (at + 10 > n) break;
        int type = answer[at] << 8 | answer[at + 1], rdlen = answer[at + 8] << 8 | answer[at + 9];
        at += 10;
        if (type == qtype && rdlen == rdsize && at + rdsize <= n) { memcpy(out, answer + at, rdsize); result = 0; break; }
        at += rdlen;
      }
    }
  }
  close(fd);
  return result;
}

/* A server address and port to connect to, IPv4 or IPv6. */
struct endpoint {
  struct sockaddr_storage address;
  socklen_t length;
};

/* Each server port in each family asked for. */
#define MAX_DESTINATIONS (MAX_PORTS * 2)

struct client_ctx {
  struct options *o;
  /* Source addresses to bind (IP_BIND_ADDRESS_NO_PORT) in turn; none means the kernel picks by route. */
  struct in_addr sources[MAX_SOURCES];
  /* With --family 6: IPv6 source addresses instead (the container's own, then the ones added to its interface). */
  struct in6_addr sources6[MAX_SOURCES];
  int nsources;
  int fds_open;
  struct in_addr server;
  struct in6_addr server6;
};

/*
 * Gives the first interface (eth0) `count` more IPv4 addresses, aliases eth0:1, eth0:2, ... taken from the top of
 * its subnet (broadcast - 1, - 2, ...), where Docker's address allocation, which counts up from the bottom, does
 * not reach. Needs CAP_NET_ADMIN. Returns 0, or the errno of the ioctl that failed.
 */
static int add_alias_addresses(const char *ifname, struct in_addr primary, struct in_addr netmask, int count) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  uint32_t broadcast = ntohl(primary.s_addr) | ~ntohl(netmask.s_addr);
  int err = 0;
  for (int k = 1; k <= count && !err; k++) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, sizeof request.ifr_name, "%s:%d", ifname, k);
    struct sockaddr_in *address = (struct sockaddr_in *)&request.ifr_addr;
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(broadcast - (uint32_t)k);
    if (ioctl(fd, SIOCSIFADDR, &request) != 0) { err = errno; break; }
    address->sin_addr = netmask;
    if (ioctl(fd, SIOCSIFNETMASK, &request) != 0) err = errno;
  }
  close(fd);
  return err;
}

/* The container's global IPv6 addresses (not loopback, not link-local), in the order the kernel lists them. */
static int local_ipv6_addresses(struct in6_addr *out, char (*names)[IFNAMSIZ_PLAIN], int max) {
  struct ifaddrs *list;
  if (getifaddrs(&list) != 0) return -1;
  int count = 0;
  for (struct ifaddrs *entry = list; entry && count < max; entry = entry->ifa_next) {
    if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET6 || !strcmp(entry->ifa_name, "lo")) continue;
    struct in6_addr address = ((struct sockaddr_in6 *)entry->ifa_addr)->sin6_addr;
    if (IN6_IS_ADDR_LINKLOCAL(&address) || IN6_IS_ADDR_LOOPBACK(&address)) continue;
    if (names) snprintf(names[count], IFNAMSIZ_PLAIN, "%s", entry->ifa_name);
    out[count++] = address;
  }
  freeifaddrs(list);
  return count;
}

/*
 * Gives interface `ifname` `count` more IPv6 addresses in the /64 of its own `primary` (SIOCSIFADDR on an AF_INET6
 * socket: addrconf_add_ifaddr), each the primary with fe:k in the top of its interface ID, so that no other
 * container's (Docker numbers them from the bottom, ::2, ::3, ...) or another client's aliases collide. Then waits
 * for duplicate address detection: a tentative address refuses bind() with EADDRNOTAVAIL for a second or two.
 * Needs CAP_NET_ADMIN. Returns 0, or the errno that failed.
 */
static int add_ipv6_aliases(const char *ifname, struct in6_addr primary, int count) {
  struct {
    struct in6_addr addr;
    uint32_t prefixlen;
    int ifindex;
  } request = {.prefixlen = 64, .ifindex = (int)if_nametoindex(ifname)};
  if (request.ifindex == 0) return errno;
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
  for (int k = 1; k <= count && !err; k++) {
    request.addr = primary;
    request.addr.s6_addr[8] = 0xfe;
    request.addr.s6_addr[9] = (uint8_t)k;
    if (ioctl(fd, SIOCSIFADDR, &request) != 0) err = errno;
  }
  close(fd);
  for (int k = 1; k <= count && !err; k++) {
    struct sockaddr_in6 local = {.sin6_family = AF_INET6, .sin6_addr = primary};
    local.sin6_addr.s6_addr[8] = 0xfe;
    local.sin6_addr.s6_addr[9] = (uint8_t)k;
    for (int attempt = 0;; attempt++) {
      int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
      if (probe < 0) return errno;
      setsockopt(probe, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      int bound = bind(probe, (struct sockaddr *)&local, sizeof local) == 0 ? 0 : errno;
      close(probe);
      if (bound == 0) break;
      if (bound != EADDRNOTAVAIL || attempt >= 100) return bound;
      usleep(50000);
    }
  }
  return err;
}

/* The container's IPv4 addresses other than loopback, in interface order (eth0, eth0:1, ..., eth1, ...). */
static int local_ipv4_addresses(struct in_addr *out, int max) {
  struct ifaddrs *list;
  if (getifaddrs(&list) != 0) return -1;
  int count = 0;
  char names[MAX_SOURCES][IFNAMSIZ_PLAIN];
  for (struct ifaddrs *entry = list; entry; entry = entry->ifa_next) {
    if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET || !strcmp(entry->ifa_name, "lo") || count >= max) continue;
    struct in_addr address = ((struct sockaddr_in *)entry->ifa_addr)->sin_addr;
    int at = count++;
    /* insertion sort by interface name */
    while (at > 0 && strcmp(names[at - 1], entry->ifa_name) > 0) {
      out[at] = out[at - 1];
      memcpy(names[at], names[at - 1], IFNAMSIZ_PLAIN);
      at--;
    }
    out[at] = address;
    snprintf(names[at], IFNAMSIZ_PLAIN, "%s", entry->ifa_name);
  }
  freeifaddrs(list);
  return count;
}

/*
 * What the client does before connect(): bind(0) takes a port of its own (inet_csk_get_port), exclusively; with
 * IP_BIND_ADDRESS_NO_PORT the port is chosen by connect(), per destination; a fixed port may be shared between
 * sockets only with SO_REUSEADDR. Returns 0, or the errno bind() failed with.
 */
static int bind_before_connect(int fd, const struct options *o, const void *source) {
  int one = 1;
  if (source && o->families == FAMILY_V6) {
    /* An IPv6 source address, its port picked by connect() (inet6_bind honours IP_BIND_ADDRESS_NO_PORT too). */
    struct sockaddr_in6 local = {.sin6_family = AF_INET6, .sin6_addr = *(const struct in6_addr *)source, .sin6_port = 0};
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0) return errno;
    return bind(fd, (struct sockaddr *)&local, sizeof local) == 0 ? 0 : errno;
  }
  if (source) {
    /* A chosen source address, its port still picked by connect() per destination. */
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = *(const struct in_addr *)source, .sin_port = 0};
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0) return errno;
    return bind(fd, (struct sockaddr *)&local, sizeof local) == 0 ? 0 : errno;
  }
  if (o->bind_mode == BIND_NONE) return 0;
  if (o->bind_mode == BIND_ZERO_NOPORT && setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0) return errno;
  if (o->bind_mode == BIND_PORT && o->bind_reuseaddr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return errno;
  struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY),
                              .sin_port = htons(o->bind_mode == BIND_PORT ? o->bind_port : 0)};
  return bind(fd, (struct sockaddr *)&local, sizeof local) == 0 ? 0 : errno;
}

/* One connect() with a deadline: 0 on success, else the errno that stopped it (ETIMEDOUT on the deadline). */
static int connect_once(const struct endpoint *target, const void *source, const struct options *o, int *out_fd) {
  int timeout_ms = o->connect_timeout_ms;
  int fd = socket(target->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  if (o->socket_port_range &&
      setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &o->socket_port_range, sizeof o->socket_port_range) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  int bind_error = bind_before_connect(fd, o, source);
  if (bind_error) {
    close(fd);
    return bind_error;
  }
  if (connect(fd, (const struct sockaddr *)&target->address, target->length) == 0) { *out_fd = fd; return 0; }
  int err = errno;
  if (err == EINPROGRESS) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int ready;
    do ready = poll(&p, 1, timeout_ms); while (ready < 0 && errno == EINTR && !stop_requested);
    if (ready == 0) err = ETIMEDOUT;
    else if (ready < 0) err = errno;
    else {
      socklen_t size = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size);
    }
    if (err == 0) { *out_fd = fd; return 0; }
  }
  close(fd);
  return err;
}

/* ",\"ipv6\":N", how many of a worker's connections went to the server's IPv6 address, for a client that connects
   over IPv6; "" otherwise. */
static const char *ipv6_field(const struct options *o, long long count) {
  static char field[32];
  if (!(o->families & FAMILY_V6)) return "";
  snprintf(field, sizeof field, ",\"ipv6\":%lld", count);
  return field;
}

/* ",\"phase\":N" for events of a phased client, "" otherwise. */
static const char *phase_field(const struct step *step) {
  static char field[24];
  if (step->phase == 0) return "";
  snprintf(field, sizeof field, ",\"phase\":%d", step->phase);
  return field;
}

/* The step's destinations: each of its ports at each of the server's addresses asked for (IPv4, then IPv6). */
static int step_targets(const struct client_ctx *ctx, const struct step *step, struct endpoint *targets) {
  int count = 0;
  for (int i = 0; i < step->nports; i++) {
    if (ctx->o->families & FAMILY_V4) {
      struct sockaddr_in *v4 = (struct sockaddr_in *)&targets[count].address;
      memset(&targets[count], 0, sizeof targets[count]);
      *v4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(step->ports[i]), .sin_addr = ctx->server};
      targets[count++].length = sizeof *v4;
    }
    if (ctx->o->families & FAMILY_V6) {
      struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&targets[count].address;
      memset(&targets[count], 0, sizeof targets[count]);
      *v6 = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = htons(step->ports[i]), .sin6_addr = ctx->server6};
      targets[count++].length = sizeof *v6;
    }
  }
  return count;
}

/* Hold: connect and keep every connection until no destination has a free local port (or descriptors run out). */
static void hold_step(int index, struct client_ctx *ctx, const struct step *step) {
  struct options *o = ctx->o;
  struct endpoint targets[MAX_DESTINATIONS];
  int ntargets = step_targets(ctx, step, targets);
  long long held = 0, held6 = 0, last_report = elapsed_ms();
  /* Destinations are (source, server address and port) pairs, taken round-robin; each runs out of local ports on
     its own. */
  int sources = ctx->nsources > 0 ? ctx->nsources : 1, pairs = sources * ntargets;
  int exhausted[MAX_DESTINATIONS * MAX_SOURCES] = {0}, remaining = pairs, stopped_by = 0, next = index % pairs, refused = 0;
  int hands_off = o->handoff && index < o->processes - 1;
  while (!stop_requested && remaining > 0) {
    while (exhausted[next]) next = (next + 1) % pairs;
    int at = next / ntargets;
    const void *source = ctx->nsources == 0 ? NULL : o->families == FAMILY_V6 ? (const void *)&ctx->sources6[at] : (const void *)&ctx->sources[at];
    int fd, err = connect_once(&targets[next % ntargets], source, o, &fd);
    if (err == 0) {
      held++;
      if (targets[next % ntargets].address.ss_family == AF_INET6) held6++;
    } else if (err == ECONNREFUSED && held == 0 && refused++ < 150) {
      /* The server may still be starting (compose's depends_on does not wait for it). Retrying costs nothing:
         a refused connect leaves no socket behind, unlike a test connection, whose close would leave TIME_WAIT. */
      usleep(200000);
      continue;
    } else if (err == EADDRNOTAVAIL) {
      /* No free local port for this destination; other server ports are other 4-tuples. */
      exhausted[next] = 1;
      remaining--;
      stopped_by = err;
    } else if (err == EINTR && stop_requested) {
      break;
    } else {
      stopped_by = err;
      break;
    }
    next = (next + 1) % pairs;
    long long now = elapsed_ms();
    if (progress_due(now, last_report)) {
      emit("{\"event\":\"progress\",\"role\":\"client\",\"worker\":%d,\"count\":%lld,\"t\":%lld%s}", index, held, now, phase_field(step));
      last_report = now;
    }
  }
  /* Its share of the budget used up, a worker that is not the last passes the turn on. */
  int handing_off = hands_off && stopped_by == EMFILE;
  emit("{\"event\":\"done\",\"role\":\"client\",\"worker\":%d,\"count\":%lld,\"errno\":\"%s\",\"reason\":\"%s\",\"timeWait\":%d,\"t\":%lld%s%s}", index,
       held, errno_name(stopped_by), handing_off ? "handoff" : stopped_by == 0 ? "signal" : "error", count_time_wait(), elapsed_ms(),
       phase_field(step), ipv6_field(o, held6));
  if (handing_off) kill(getppid(), SIGUSR1);
}

/*
 * Churn: connect, close, repeat for the step's duration, optionally paced at its rate per second (shared by the
 * workers). Closing first (client), the client's socket lingers in TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN); when
 * the server closes first, the client waits for its FIN and the TIME_WAIT stays on the server.
 * The first failure stops the worker: its errno and time are the result.
 */
static void churn_step(int index, struct client_ctx *ctx, const struct step *step) {
  struct options *o = ctx->o;
  struct endpoint targets[MAX_DESTINATIONS];
  int ntargets = step_targets(ctx, step, targets);
  int server_closes = step->close && !strcmp(step->close, "server");
  long long churned = 0, churned6 = 0, started_at = elapsed_ms(), last_report = started_at;
  long long entered_before = time_wait_entered();
  int stopped_by = 0, refused = 0, next = index % ntargets;
  double interval_ms = step->rate > 0 ? 1000.0 * o->processes / step->rate : 0;
  while (!stop_requested) {
    long long now = elapsed_ms();
    if (now - started_at >= step->duration_ms) break;
    if (interval_ms > 0) {
      long long due = started_at + (long long)(churned * interval_ms);
      if (due > now) { usleep((useconds_t)(due - now) * 1000); continue; }
    }
    int fd, err = connect_once(&targets[next], NULL, o, &fd);
    if (err == ECONNREFUSED && churned == 0 && refused++ < 150) { usleep(200000); continue; }
    if (err) {
      if (!(err == EINTR && stop_requested)) stopped_by = err;
      break;
    }
    if (server_closes) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      char buffer[64];
      if (poll(&p, 1, o->connect_timeout_ms) == 1) (void)read(fd, buffer, sizeof buffer);
    }
    close(fd);
    churned++;
    if (targets[next].address.ss_family == AF_INET6) churned6++;
    next = (next + 1) % ntargets;
    if (progress_due(now, last_report)) {
      emit("{\"event\":\"progress\",\"role\":\"client\",\"worker\":%d,\"count\":%lld,\"timeWait\":%d,\"t\":%lld%s}", index, churned,
           time_wait_now(), now, phase_field(step));
      last_report = now;
    }
  }
  /* The TIME_WAIT count before the counter: a socket entering between the two reads can only make the difference
     (the number killed) larger, so it bounds the kills from above. */
  if (!server_closes && !stop_requested) settle_closing(2000);
  int time_wait_at_end = count_time_wait();
  long long entered_after = time_wait_entered();
  long long entered = entered_before >= 0 && entered_after >= 0 ? entered_after - entered_before : -1;
  /* Paced and run to its duration: connect k was due at k x interval, for every k x interval < duration. Any fewer
     means the worker fell behind its schedule (the CPU) by that many connections. */
  long long behind = -1;
  if (interval_ms > 0 && !stopped_by && !stop_requested) {
    /* k x 1000 x processes / rate < duration: k < duration x rate / (1000 x processes), rounded up. */
    long long per = 1000LL * o->processes, scheduled = ((long long)step->duration_ms * step->rate + per - 1) / per;
    behind = scheduled > churned ? scheduled - churned : 0;
  }
  emit("{\"event\":\"done\",\"role\":\"client\",\"worker\":%d,\"count\":%lld,\"errno\":\"%s\",\"reason\":\"%s\",\"timeWait\":%d,"
       "\"timeWaitEntered\":%lld,\"paceBehind\":%lld,\"t\":%lld%s%s}",
       index, churned, errno_name(stopped_by), stopped_by ? "error" : stop_requested ? "signal" : "duration", time_wait_at_end, entered,
       behind, elapsed_ms(), phase_field(step), ipv6_field(o, churned6));
}

static void run_step(int index, struct client_ctx *ctx, const struct step *step) {
  if (!strcmp(step->mode, "churn")) churn_step(index, ctx, step);
  else hold_step(index, ctx, step);
}

/* A worker: its share of the budget, then its step (or each phase in turn), then it holds what it has until the end. */
static void client_worker(int index, void *arg) {
  struct client_ctx *ctx = arg;
  struct options *o = ctx->o;
  long long budget = take_budget(index, o->fd_budget, ctx->fds_open);
  emit("{\"event\":\"worker\",\"role\":\"client\",\"worker\":%d,\"pid\":%d,\"budget\":%lld,\"t\":%lld}", index, getpid(), budget, elapsed_ms());
  if (o->nphases > 0) {
    for (int p = 0; p < o->nphases && !stop_requested; p++) run_step(index, ctx, &o->phases[p]);
  } else {
    struct step step = {.phase = 0, .mode = o->mode, .nports = o->nports, .duration_ms = o->duration_ms, .rate = o->rate, .close = o->close};
    memcpy(step.ports, o->ports, sizeof step.ports);
    run_step(index, ctx, &step);
  }
  wait_for_stop(); /* hold every connection until the run ends */
  reset_on_exit();
}

static int run_client(struct options *o) {
  if (o->nports == 0 && o->nphases == 0) fatal("client needs --ports or --phase", EINVAL);
  if (o->nphases > 0) {
    /* Phases run in one process, one after another; --ports lists every port they use, for the ready line. */
    o->processes = 1;
    o->handoff = 0;
  }
  int churn = !strcmp(o->mode, "churn");
  if (!churn && strcmp(o->mode, "hold") != 0) fatal("--mode takes hold or churn", EINVAL);
  if (churn && o->duration_ms <= 0) fatal("--mode churn needs --duration-ms", EINVAL);
  const char *gate = getenv("PORTLAB_WAIT_FOR_GO");
  if (gate && *gate) wait_for_go();
  if (stop_requested) return 0;
  struct client_ctx ctx = {.o = o};
  int resolved = -1;
  for (int attempt = 0; attempt < 50 && resolved != 0 && !stop_requested; attempt++) {
    resolved = 0;
    if (o->families & FAMILY_V4) resolved |= resolve_address(o->server, AF_INET, &ctx.server);
    if (o->families & FAMILY_V6) resolved |= resolve_address(o->server, AF_INET6, &ctx.server6);
    if (resolved != 0) usleep(200000);
  }
  if (resolved != 0) fatal(o->families & FAMILY_V6 ? "cannot resolve the server's name to an IPv6 address (AAAA)" : "cannot resolve the server's name", EHOSTUNREACH);
  if (o->socket_port_range) {
    /* A kernel without the option (before 6.3) refuses it: say so once, before any connect(). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fatal("socket() failed", errno);
    if (setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &o->socket_port_range, sizeof o->socket_port_range) != 0)
      fatal("this kernel refuses IP_LOCAL_PORT_RANGE (Linux 6.3 and later have it)", errno);
    close(fd);
  }
  if (o->sources > 0 && o->families == FAMILY_V6) {
    if (o->sources > MAX_SOURCES) fatal("--sources takes at most 8", EINVAL);
    char names[MAX_SOURCES][IFNAMSIZ_PLAIN];
    int found = local_ipv6_addresses(ctx.sources6, names, MAX_SOURCES);
    if (found < 1) fatal("the container has no IPv6 address to add source addresses beside (ipv6: true makes one)", EADDRNOTAVAIL);
    if (found < o->sources) {
      int err = add_ipv6_aliases(names[0], ctx.sources6[0], o->sources - found);
      if (err) fatal("adding IPv6 source addresses failed (the container needs cap_add: NET_ADMIN)", err);
      found = local_ipv6_addresses(ctx.sources6, NULL, MAX_SOURCES);
    }
    if (found < o->sources) fatal("the container has fewer IPv6 addresses than --sources asks for", EADDRNOTAVAIL);
    ctx.nsources = o->sources;
  } else if (o->sources > 0) {
    if (o->sources > MAX_SOURCES) fatal("--sources takes at most 8", EINVAL);
    int found = local_ipv4_addresses(ctx.sources, MAX_SOURCES);
    if (found >= 1 && found < o->sources) {
      struct ifaddrs *list, *first = NULL;
      if (getifaddrs(&list) != 0) fatal("getifaddrs failed", errno);
      for (struct ifaddrs *entry = list; entry && !first; entry = entry->ifa_next) {
        if (entry->ifa_addr && entry->ifa_addr->sa_family == AF_INET && entry->ifa_netmask &&
            ((struct sockaddr_in *)entry->ifa_addr)->sin_addr.s_addr == ctx.sources[0].s_addr)
          first = entry;
      }
      int err = first ? add_alias_addresses(first->ifa_name, ctx.sources[0], ((struct sockaddr_in *)first->ifa_netmask)->sin_addr,
                                            o->sources - found)
                      : ENODEV;
      freeifaddrs(list);
      if (err) fatal("adding source addresses failed (the container needs cap_add: NET_ADMIN)", err);
      found = local_ipv4_addresses(ctx.sources, MAX_SOURCES);
    }
    if (found < o->sources) fatal("the container has fewer IPv4 addresses than --sources asks for", EADDRNOTAVAIL);
    ctx.nsources = o->sources;
  }
  ctx.fds_open = count_open_fds();
  char sources[MAX_SOURCES * (INET6_ADDRSTRLEN + 3) + 2] = "";
  for (int i = 0, off = 0; i < ctx.nsources; i++) {
    char text[INET6_ADDRSTRLEN];
    if (o->families == FAMILY_V6) inet_ntop(AF_INET6, &ctx.sources6[i], text, sizeof text);
    else inet_ntop(AF_INET, &ctx.sources[i], text, sizeof text);
    off += snprintf(sources + off, sizeof sources - off, "%s\"%s\"", i ? "," : "", text);
  }
  /* The server's addresses it connects to: "server" (IPv4, or IPv6 alone) and "server6" when both. */
  char server_text[INET6_ADDRSTRLEN] = "", server6_text[INET6_ADDRSTRLEN + 16] = "";
  if (o->families & FAMILY_V4) inet_ntop(AF_INET, &ctx.server, server_text, sizeof server_text);
  if (o->families & FAMILY_V6) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &ctx.server6, text, sizeof text);
    if (o->families & FAMILY_V4) snprintf(server6_text, sizeof server6_text, ",\"server6\":\"%s\"", text);
    else snprintf(server_text, sizeof server_text, "%s", text);
  }
  char extra[800];
  snprintf(extra, sizeof extra, ",\"server\":\"%s\"%s,\"targets\":%d,\"handoff\":%s,\"sources\":[%s],\"phases\":%d", server_text,
           server6_text, o->nports, o->handoff ? "true" : "false", sources, o->nphases);
  emit_ready("client", o->processes, o->fd_budget, extra);

  if (o->handoff && !churn) spawn_in_turn(o->processes, client_worker, &ctx);
  else spawn(o->processes, client_worker, &ctx);
  return supervise();
}

/* ---- the sysctls of this network namespace ---------------------------------------------------------- */

/* Appends the name of every file under `dir` (a path under /proc/sys) to `out` as a JSON string, dotted as sysctl(8)
   names them ("net.ipv4.tcp_tw_reuse"). The names have no characters JSON must escape. */
static void list_sysctls(char *dir, size_t dir_size, char *out, size_t out_size, size_t *at, int *first) {
  DIR *listing = opendir(dir);
  if (!listing) return;
  size_t length = strlen(dir);
  struct dirent *entry;
  while ((entry = readdir(listing)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    if (length + 1 + strlen(entry->d_name) + 1 > dir_size) continue;
    snprintf(dir + length, dir_size - length, "/%s", entry->d_name);
    if (entry->d_type == DT_DIR) {
      list_sysctls(dir, dir_size, out, out_size, at, first);
    } else if (*at + strlen(dir) + 4 < out_size) {
      *at += snprintf(out + *at, out_size - *at, "%s\"", *first ? "" : ",");
      for (const char *c = dir + strlen("/proc/sys/"); *c; c++) out[(*at)++] = *c == '/' ? '.' : *c;
      out[(*at)++] = '"';
      *first = 0;
    }
    dir[length] = 0;
  }
  closedir(listing);
}

/* `probe sysctls`: one line naming every sysctl under /proc/sys/net that this network namespace has, so portlab can
   tell a misspelt sysctl from one this kernel has before anything runs. One process writes it, so its length (tens
   of kilobytes, past PIPE_BUF) cannot interleave with another line. */
static int run_sysctls(void) {
  static char names[256 * 1024];
  char dir[512] = "/proc/sys/net";
  size_t at = 0;
  int first = 1;
  list_sysctls(dir, sizeof dir, names, sizeof names, &at, &first);
  names[at] = 0;
  char head[96];
  int head_length = snprintf(head, sizeof head, "{\"event\":\"sysctls\",\"t\":%lld,\"names\":[", elapsed_ms());
  const char *parts[] = {head, names, "]}\n"};
  size_t lengths[] = {(size_t)head_length, at, 3};
  for (int i = 0; i < 3; i++) {
    size_t off = 0;
    while (off < lengths[i]) {
      ssize_t n = write(STDOUT_FILENO, parts[i] + off, lengths[i] - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 1;
      off += n;
    }
  }
  return 0;
}

#include "observer.c"
#include "inspect.c"

/* ---- main ----------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  start_clock();
  struct sigaction action = {.sa_handler = on_stop_signal}; /* no SA_RESTART: blocking calls return EINTR */
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, NULL);
  sigaction(SIGINT, &action, NULL);
  struct sigaction handoff = {.sa_handler = on_handoff_signal};
  sigemptyset(&handoff.sa_mask);
  sigaction(SIGUSR1, &handoff, NULL);
  struct sigaction go = {.sa_handler = on_go_signal};
  sigemptyset(&go.sa_mask);
  sigaction(SIGUSR2, &go, NULL);
  struct sigaction child = {.sa_handler = on_child_signal, .sa_flags = SA_NOCLDSTOP};
  sigemptyset(&child.sa_mask);
  sigaction(SIGCHLD, &child, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_SETMASK, NULL, &unblocked);

  if (argc >= 2 && !strcmp(argv[1], "inspect")) return run_inspect(argc - 2, argv + 2);
  struct options o = parse_options(argc, argv);
  if (!strcmp(o.role, "limits")) {
    /* In the host's network namespace this also reads the conntrack table that bridged traffic fills, and how many of
       its entries are established TCP connections: the rest (closing, UDP) expire within minutes. */
    char extra[1536] = "";
    int at = 0;
    long max = read_long("/proc/sys/net/netfilter/nf_conntrack_max", -1), count = read_long("/proc/sys/net/netfilter/nf_conntrack_count", -1);
    long established = conntrack_established();
    if (max >= 0 && count >= 0) {
      at += snprintf(extra + at, sizeof extra - at, ",\"conntrack\":{\"max\":%ld,\"count\":%ld", max, count);
      if (established >= 0) at += snprintf(extra + at, sizeof extra - at, ",\"established\":%ld", established);
      at += snprintf(extra + at, sizeof extra - at, "}");
    }
    /* The kernel's global limits, the same from every namespace: open files (fs.file-nr: allocated, free, max; both
       ends of a connection between two containers of one host are files of one kernel) and the memory available. */
    long long files_allocated = -1, files_free = -1, files_max = -1, available_kb = -1;
    FILE *file_nr = fopen("/proc/sys/fs/file-nr", "re");
    if (file_nr) {
      if (fscanf(file_nr, "%lld %lld %lld", &files_allocated, &files_free, &files_max) != 3) files_allocated = -1;
      fclose(file_nr);
    }
    FILE *meminfo = fopen("/proc/meminfo", "re");
    if (meminfo) {
      char key[64];
      long long value;
      while (fscanf(meminfo, "%63s %lld kB\n", key, &value) == 2)
        if (!strcmp(key, "MemAvailable:")) available_kb = value;
      fclose(meminfo);
    }
    if (files_allocated >= 0)
      at += snprintf(extra + at, sizeof extra - at, ",\"files\":{\"allocated\":%lld,\"max\":%lld}", files_allocated, files_max);
    if (available_kb >= 0) at += snprintf(extra + at, sizeof extra - at, ",\"memoryAvailableKb\":%lld", available_kb);
    /* What the port search's cost rests on: the cores that share it, and the established hash every namespace's
       connections share (tcp_ehash_entries; negative in a namespace that shares the initial namespace's table). */
    long cores = sysconf(_SC_NPROCESSORS_ONLN), ehash = read_long("/proc/sys/net/ipv4/tcp_ehash_entries", 0);
    if (cores > 0) at += snprintf(extra + at, sizeof extra - at, ",\"cores\":%ld", cores);
    if (ehash != 0) at += snprintf(extra + at, sizeof extra - at, ",\"ehashEntries\":%ld", ehash < 0 ? -ehash : ehash);
    /* The slab objects a connection's kernel memory is made of (their sizes in /proc/slabinfo, root only): a TCP
       socket, its inode and file and dentry, an epoll item, a conntrack entry, a TIME_WAIT socket. */
    FILE *slabinfo = fopen("/proc/slabinfo", "re");
    if (slabinfo) {
      static const char *const wanted[] = {"TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi", "nf_conntrack", "tw_sock_TCP"};
      char line[512], name[64];
      long active, total, objsize;
      int found = 0;
      while (fgets(line, sizeof line, slabinfo)) {
        if (sscanf(line, "%63s %ld %ld %ld", name, &active, &total, &objsize) != 4) continue;
        for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++) {
          if (strcmp(name, wanted[i])) continue;
          at += snprintf(extra + at, sizeof extra - at, "%s\"%s\":%ld", found++ ? "," : ",\"slabBytes\":{", name, objsize);
        }
      }
      if (found) at += snprintf(extra + at, sizeof extra - at, "}");
      fclose(slabinfo);
    }
    /* Whether this kernel takes IP_LOCAL_PORT_RANGE (a socket's own port range): only trying says, since it came in
       6.3 and was backported to 6.1.32 and later 6.1 kernels; a kernel without it fails with ENOPROTOOPT. 0 asks for
       no range of its own, so nothing changes. Beside it the kernel's build (uname -v: "#1 SMP ... Debian
       6.1.192-3 ..."), which names the upstream version the release ("6.1.0-57-cloud-amd64") hides. */
    int tester = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (tester >= 0) {
      uint32_t none = 0;
      int taken = setsockopt(tester, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &none, sizeof none) == 0;
      if (taken || errno == ENOPROTOOPT) at += snprintf(extra + at, sizeof extra - at, ",\"ipLocalPortRange\":%s", taken ? "true" : "false");
      close(tester);
    }
    struct utsname uts;
    if (uname(&uts) == 0) {
      char build[sizeof uts.version];
      size_t out = 0;
      for (const char *c = uts.version; *c && out + 1 < sizeof build; c++)
        if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20) build[out++] = *c;
      build[out] = 0;
      at += snprintf(extra + at, sizeof extra - at, ",\"kernelBuild\":\"%s\"", build);
    }
    /* Which network namespace of which boot this is ("net:[4026531840]" and the boot id): a process that finds the
       same two for itself shares this namespace, and can read the same table without a container. */
    char netns[64] = "", boot_id[64] = "";
    ssize_t length = readlink("/proc/self/ns/net", netns, sizeof netns - 1);
    if (length > 0) netns[length] = 0;
    if (read_text("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id) == 0) boot_id[strcspn(boot_id, "\n")] = 0;
    if (length > 0 && boot_id[0]) snprintf(extra + at, sizeof extra - at, ",\"netns\":\"%s\",\"bootId\":\"%s\"", netns, boot_id);
    emit_ready("limits", 1, -1, extra);
    return 0;
  }
  if (!strcmp(o.role, "sysctls")) return run_sysctls();
  if (!strcmp(o.role, "server")) return run_server(&o);
  if (!strcmp(o.role, "client")) return run_client(&o);
  if (!strcmp(o.role, "observe")) return run_observer(&o);
  fatal("usage: probe limits | sysctls | inspect [--netns-of PID | --own-netns] | server --ports P [...] | client --server HOST --ports P [...] | observe --role R --ports P [-- COMMAND...]", EINVAL);
  return 2;
}
