/*
 * `probe inspect`: what the kernel holds in the network and PID namespaces of a container that is already running
 * (portlab inspect starts the probe there for a moment: docker's --network and --pid container:<id>). Read-only: it
 * opens no socket but its netlink one, writes nothing, and exits after one look.
 *
 * It prints a `ready` line (role "inspect": the namespace's port range, reserved and listening ports, the sysctls
 * the model reads, somaxconn) and one `inspect` line:
 *   - destinations: the TCP sockets that connect out (their local port is no listening port of the namespace),
 *     grouped by remote address and port, counted by state, and how many of them hold a local port of the range;
 *   - listeners: each listening socket's port, backlog and accept queue (tcp_diag_get_info for TCP_LISTEN), and
 *     the sockets accepted on its port by state;
 *   - processes: every process of the PID namespace but the probe, with its descriptors and soft nofile.
 * It is part of probe.c (after observer.c: it shares diag_dump()'s netlink walk, app_processes() and emit()).
 */

#define MAX_DESTINATIONS_SEEN 128

struct destination_seen {
  char address[INET6_ADDRSTRLEN];
  int port;
  long long states[TCP_STATES];
  long long in_range;           /* sockets whose local port lies in the namespace's ip_local_port_range */
  long long time_wait_in_range; /* of those, the ones in TIME_WAIT */
};

struct listener_seen {
  char address[INET6_ADDRSTRLEN]; /* its local address (0.0.0.0 or :: for every address) */
  int port;
  unsigned backlog;
  unsigned queue;
  int sockets;                  /* listening sockets on the port (one per family, more with SO_REUSEPORT) */
  long long states[TCP_STATES]; /* the sockets accepted on its port (local port = its port) */
};

struct inspection {
  struct destination_seen destinations[MAX_DESTINATIONS_SEEN];
  int ndestinations;
  long long more_destinations; /* sockets to destinations past MAX_DESTINATIONS_SEEN */
  struct listener_seen listeners[MAX_PORTS * 4];
  int nlisteners;
  long low, high; /* the namespace's ip_local_port_range */
  unsigned char port_out[65536 / 8]; /* the ports of the range that sockets connecting out hold, any destination */
  long long ports_out;               /* how many of them */
};

/* A socket's remote (or, with `local`, its local) address as text (an IPv4-mapped IPv6 address as IPv4). */
static void socket_address(const struct inet_diag_msg *msg, int local, char *out, size_t size) {
  const uint32_t *words = local ? msg->id.idiag_src : msg->id.idiag_dst;
  if (msg->idiag_family == AF_INET) {
    inet_ntop(AF_INET, words, out, size);
  } else if (words[0] == 0 && words[1] == 0 && words[2] == htonl(0xffff)) {
    inet_ntop(AF_INET, &words[3], out, size);
  } else {
    inet_ntop(AF_INET6, words, out, size);
  }
}

static struct listener_seen *listener_on(struct inspection *seen, int port) {
  for (int i = 0; i < seen->nlisteners; i++)
    if (seen->listeners[i].port == port) return &seen->listeners[i];
  return NULL;
}

/* First pass: the listening sockets (a port may have one per family). */
static void take_listener(const struct inet_diag_msg *msg, void *arg) {
  struct inspection *seen = arg;
  if (msg->idiag_state != TCP_LISTEN) return;
  int port = ntohs(msg->id.idiag_sport);
  struct listener_seen *known = listener_on(seen, port);
  if (known) {
    known->backlog += msg->idiag_wqueue;
    known->queue += msg->idiag_rqueue;
    known->sockets++;
    return;
  }
  if (seen->nlisteners < (int)(sizeof seen->listeners / sizeof *seen->listeners)) {
    struct listener_seen *added = &seen->listeners[seen->nlisteners++];
    *added = (struct listener_seen){.port = port, .backlog = msg->idiag_wqueue, .queue = msg->idiag_rqueue, .sockets = 1};
    socket_address(msg, 1, added->address, sizeof added->address);
  }
}

/* Second pass: every other socket, accepted on a listening port or connecting out to a destination. */
static void take_socket(const struct inet_diag_msg *msg, void *arg) {
  struct inspection *seen = arg;
  int state = msg->idiag_state < TCP_STATES ? msg->idiag_state : 0;
  if (state == TCP_LISTEN) return;
  int sport = ntohs(msg->id.idiag_sport), dport = ntohs(msg->id.idiag_dport);
  struct listener_seen *accepted = listener_on(seen, sport);
  if (accepted) {
    accepted->states[state]++;
    return;
  }
  char address[INET6_ADDRSTRLEN];
  socket_address(msg, 0, address, sizeof address);
  struct destination_seen *destination = NULL;
  for (int i = 0; i < seen->ndestinations && !destination; i++)
    if (seen->destinations[i].port == dport && !strcmp(seen->destinations[i].address, address)) destination = &seen->destinations[i];
  if (!destination) {
    if (seen->ndestinations >= MAX_DESTINATIONS_SEEN) {
      seen->more_destinations++;
      return;
    }
    destination = &seen->destinations[seen->ndestinations++];
    snprintf(destination->address, sizeof destination->address, "%s", address);
    destination->port = dport;
  }
  destination->states[state]++;
  if (sport >= seen->low && sport <= seen->high) {
    destination->in_range++;
    if (state == TCP_TIME_WAIT) destination->time_wait_in_range++;
    if (!(seen->port_out[sport / 8] & (1 << (sport % 8)))) {
      seen->port_out[sport / 8] |= (unsigned char)(1 << (sport % 8));
      seen->ports_out++;
    }
  }
}

/* {"ESTABLISHED":N,...}: the states with a count. */
static int states_json(const long long *states, char *out, size_t size) {
  int at = snprintf(out, size, "{");
  for (int state = 1, first = 1; state < TCP_STATES; state++) {
    if (states[state] == 0) continue;
    at += snprintf(out + at, size - at, "%s\"%s\":%lld", first ? "" : ",", TCP_STATE_NAMES[state], states[state]);
    first = 0;
  }
  return at + snprintf(out + at, size - at, "}");
}

/*
 * `--netns-of PID`: the probe runs on the host (portlab inspect --pid, --host) and enters that process's network
 * namespace (setns, CAP_SYS_ADMIN) before it looks; the processes it counts are the ones in that namespace. An error
 * is a `fatal` line naming the errno: ESRCH for a process that is not there, EPERM or EACCES for the rights missing.
 */
static void enter_netns_of(const char *pid_text) {
  char *end = NULL;
  long pid = strtol(pid_text, &end, 10);
  if (!*pid_text || *end || pid <= 0) fatal("--netns-of takes a process id", EINVAL);
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fatal("opening the process's network namespace", errno == ENOENT ? ESRCH : errno);
  struct stat ns;
  if (fstat(fd, &ns) != 0) fatal("reading the process's network namespace", errno);
  if (setns(fd, CLONE_NEWNET) != 0) fatal("entering the process's network namespace (setns)", errno);
  close(fd);
  processes_netns = (unsigned long long)ns.st_ino;
  process_asked = (int)pid;
}

static int run_inspect(int argc, char **argv) {
  static struct inspection seen;
  if (argc == 2 && !strcmp(argv[0], "--netns-of")) {
    enter_netns_of(argv[1]);
  } else if (argc == 1 && !strcmp(argv[0], "--own-netns")) {
    /* portlab inspect --host: the namespace the probe was started in, its processes only (not the whole PID space). */
    struct stat ns;
    if (stat("/proc/self/ns/net", &ns) != 0) fatal("reading the probe's network namespace", errno);
    processes_netns = (unsigned long long)ns.st_ino;
  } else if (argc != 0) {
    fatal("usage: probe inspect [--netns-of PID | --own-netns]", EINVAL);
  }
  char range[64] = "0 0";
  read_text("/proc/sys/net/ipv4/ip_local_port_range", range, sizeof range);
  sscanf(range, "%ld %ld", &seen.low, &seen.high);
  /* The listeners first (the kernel hands over only those), then every other socket, each seen once. */
  int err = diag_dump(AF_INET, 1u << TCP_LISTEN, take_listener, &seen);
  if (err) fatal("reading the namespace's sockets (sock_diag)", err);
  diag_dump(AF_INET6, 1u << TCP_LISTEN, take_listener, &seen);
  diag_dump(AF_INET, ALL_TCP_STATES & ~(1u << TCP_LISTEN), take_socket, &seen);
  diag_dump(AF_INET6, ALL_TCP_STATES & ~(1u << TCP_LISTEN), take_socket, &seen);
  /* The namespace's own facts first, as every probe reports them (only listening sockets count as bound). */
  listeners_only = 1;
  npreset_bound = 0;
  for (int i = 0; i < seen.nlisteners && npreset_bound < MAX_BOUND; i++) preset_bound[npreset_bound++] = seen.listeners[i].port;
  emit_ready("inspect", 1, -1, NULL);
  static char destinations[MAX_DESTINATIONS_SEEN * 480], listeners[MAX_PORTS * 4 * 440], processes[MAX_APP_PROCESSES * 96];
  char states[400];
  for (int i = 0, at = 0; i < seen.ndestinations; i++) {
    struct destination_seen *d = &seen.destinations[i];
    states_json(d->states, states, sizeof states);
    at += snprintf(destinations + at, sizeof destinations - at, "%s{\"address\":\"%s\",\"port\":%d,\"states\":%s,\"inRange\":%lld,\"timeWaitInRange\":%lld}",
                   i ? "," : "", d->address, d->port, states, d->in_range, d->time_wait_in_range);
  }
  for (int i = 0, at = 0; i < seen.nlisteners; i++) {
    struct listener_seen *l = &seen.listeners[i];
    states_json(l->states, states, sizeof states);
    at += snprintf(listeners + at, sizeof listeners - at, "%s{\"address\":\"%s\",\"port\":%d,\"backlog\":%u,\"queue\":%u,\"sockets\":%d,\"states\":%s}",
                   i ? "," : "", l->address, l->port, l->backlog, l->queue, l->sockets, states);
  }
  app_processes(processes, sizeof processes);
  /* One line may be long (a namespace with many destinations): written as one write() all the same. */
  static char line[MAX_DESTINATIONS_SEEN * 480 + MAX_PORTS * 4 * 440 + MAX_APP_PROCESSES * 96 + 256];
  int length = snprintf(line, sizeof line, "{\"event\":\"inspect\",\"t\":%lld,\"destinations\":[%s],\"moreDestinations\":%lld,\"portsOut\":%lld,\"listeners\":[%s],\"processes\":%s}\n",
                        elapsed_ms(), destinations, seen.more_destinations, seen.ports_out, listeners, processes);
  if (length > 0) (void)!write(STDOUT_FILENO, line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
  return 0;
}
