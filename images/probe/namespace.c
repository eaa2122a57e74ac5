/*
 * What the container gives the probe: /proc files read, the namespace's TCP sockets by port and state from
 * /proc/net/tcp, its conntrack and TIME_WAIT counts, and the `ready` line that reports them. Part of probe.c's one
 * translation unit.
 */

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

/* Listening ports already read another way (inspect's sock_diag pass): emit_ready reports these and reads no
   /proc/net/tcp, whose text costs a namespace of 100,000 sockets a few hundred ms. -1: not given. */
static int preset_bound[MAX_BOUND], npreset_bound = -1;

/* A limit as JSON can hold it: RLIM_INFINITY (unlimited) as -1. */
static long long rlimit_value(rlim_t value) { return value == RLIM_INFINITY ? -1 : (long long)value; }

static void emit_ready(const char *role, int processes, long long budget, const char *extra) {
  struct rlimit limit, nproc;
  getrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NPROC, &nproc);
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
  int nports = npreset_bound >= 0 ? npreset_bound : bound_ports(ports, MAX_BOUND);
  if (npreset_bound >= 0) memcpy(ports, preset_bound, sizeof(int) * (size_t)npreset_bound);
  char bound[MAX_BOUND * 7 + 2] = "";
  for (int i = 0, off = 0; i < nports; i++) off += snprintf(bound + off, sizeof bound - off, "%s%d", i ? "," : "", ports[i]);
  emit("{\"event\":\"ready\",\"role\":\"%s\",\"t\":%lld,\"nofile\":{\"soft\":%llu,\"hard\":%llu},"
       "\"nproc\":{\"soft\":%lld,\"hard\":%lld},\"fdsOpen\":%d,"
       "\"portRange\":{\"low\":%ld,\"high\":%ld},\"boundPorts\":[%s],\"reservedPorts\":\"%s\",\"somaxconn\":%ld,"
       "\"sysctls\":{\"net.ipv4.tcp_tw_reuse\":\"%s\",\"net.ipv4.tcp_timestamps\":\"%s\",\"net.ipv4.tcp_fin_timeout\":\"%s\"%s},"
       "\"processes\":%d,\"fdBudget\":%lld,\"epochMs\":%lld%s}",
       role, elapsed_ms(), (unsigned long long)limit.rlim_cur, (unsigned long long)limit.rlim_max, rlimit_value(nproc.rlim_cur),
       rlimit_value(nproc.rlim_max), count_open_fds(), low, high,
       bound, reserved, read_long("/proc/sys/net/core/somaxconn", -1), tw_reuse, timestamps, fin_timeout, more, processes, budget,
       started_epoch_ms, extra ? extra : "");
}
