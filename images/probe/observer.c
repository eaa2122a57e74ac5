/*
 * `probe observe --role server|client --ports P[,P]`: the kernel's view of a container portlab did not write.
 *
 * It owns the network and PID namespaces the application then runs in (compose: the application's network_mode
 * and pid are "service:<this>"), so it is there before the application starts and after it ends, and reports, every --interval-ms (default 250) and once more when stopped:
 *   - the TCP sockets of the namespace by state, on the --ports (a server: local port) or to them (a client: remote
 *     port), read with netlink sock_diag (inet_diag_rcv_msg: one dump per family, not /proc/net/tcp's text), and how
 *     many of them the application holds a descriptor of (`held`: a server's accepted connections, read per socket);
 *   - each listening socket on the ports: the backlog the application asked for (idiag_wqueue, sk_max_ack_backlog
 *     already capped by somaxconn) and the completed connections waiting in its accept queue (idiag_rqueue,
 *     sk_ack_backlog), as tcp_diag_get_info reports them for TCP_LISTEN;
 *   - the application's processes: their descriptors (/proc/PID/fd) and soft nofile (/proc/PID/limits).
 * With `-- COMMAND...` it starts the application itself, as its child in its own namespaces (a swarm service's task
 * is one container: there is no second one to share namespaces with): the command's output is the container's, mixed
 * with the observer's JSON lines; the application's end is an `exit` line (its code, or the signal that ended it);
 * a stop signal takes the last observation first and is then passed on to the application, which has until
 * APP_STOP_MS to end before it is killed.
 * A look at 18,000 sockets took 40 ms here: it waits four times its last look's time at least, so it takes at most a
 * fifth of one core.
 * It is part of probe.c (one translation unit: it shares emit(), elapsed_ms() and read_text()).
 */

struct listener {
  int port;
  unsigned backlog;
  unsigned queue;
};

struct kernel_view {
  const struct options *o;
  int server;                             /* 1: sockets on the ports; 0: sockets to them */
  long long states[MAX_PORTS][TCP_STATES]; /* per port of --ports */
  struct listener listeners[MAX_PORTS];
  int nlisteners;
  long long sockets;                      /* every TCP socket of the namespace */
  long long held;                         /* of those on or to the ports, the ones a process holds a descriptor of */
};

static int port_index(const struct options *o, int port) {
  for (int i = 0; i < o->nports; i++)
    if (o->ports[i] == port) return i;
  return -1;
}

static void count_socket(const struct inet_diag_msg *msg, struct kernel_view *view) {
  int sport = ntohs(msg->id.idiag_sport), dport = ntohs(msg->id.idiag_dport);
  int state = msg->idiag_state < TCP_STATES ? msg->idiag_state : 0;
  view->sockets++;
  if (state == TCP_LISTEN) {
    int at = port_index(view->o, sport);
    if (at >= 0 && view->nlisteners < MAX_PORTS)
      view->listeners[view->nlisteners++] = (struct listener){.port = sport, .backlog = msg->idiag_wqueue, .queue = msg->idiag_rqueue};
    return;
  }
  int at = port_index(view->o, view->server ? sport : dport);
  if (at < 0) return;
  view->states[at][state]++;
  /* sock_i_ino(): 0 until a process has the socket as a file (accept() grafts one; a connection still in the accept
   * queue, a SYN-RECV request and a TIME-WAIT have none, nor one the application closed). Counted in the same dump as
   * its state, so "accepted" is one reading, not ESTABLISHED less a queue read at another instant. */
  if (msg->idiag_inode != 0) view->held++;
}


static void count_into_view(const struct inet_diag_msg *msg, void *view) { count_socket(msg, view); }

/* The kernel view of one family's sockets. */
static int dump_tcp(int family, struct kernel_view *view) { return diag_dump(family, ALL_TCP_STATES, count_into_view, view); }

static void emit_observation(struct options *o, int server, int *unreadable) {
  struct kernel_view view = {.o = o, .server = server};
  int err4 = dump_tcp(AF_INET, &view), err6 = dump_tcp(AF_INET6, &view);
  if (err4 && err6) {
    if (!*unreadable) fatal("reading the namespace's sockets (sock_diag)", err4);
    *unreadable = 1;
    return;
  }
  char ports[MAX_PORTS * 400] = "", listeners[MAX_PORTS * 64] = "", processes[MAX_APP_PROCESSES * 96] = "";
  int at = 0;
  for (int i = 0; i < o->nports; i++) {
    at += snprintf(ports + at, sizeof ports - at, "%s\"%d\":{", i ? "," : "", o->ports[i]);
    for (int state = 1, first = 1; state < TCP_STATES; state++) {
      if (state == TCP_LISTEN || view.states[i][state] == 0) continue;
      at += snprintf(ports + at, sizeof ports - at, "%s\"%s\":%lld", first ? "" : ",", TCP_STATE_NAMES[state], view.states[i][state]);
      first = 0;
    }
    at += snprintf(ports + at, sizeof ports - at, "}");
  }
  for (int i = 0, off = 0; i < view.nlisteners; i++)
    off += snprintf(listeners + off, sizeof listeners - off, "%s{\"port\":%d,\"backlog\":%u,\"queue\":%u}", i ? "," : "", view.listeners[i].port,
                    view.listeners[i].backlog, view.listeners[i].queue);
  app_processes(processes, sizeof processes);
  emit("{\"event\":\"observe\",\"role\":\"%s\",\"t\":%lld,\"ports\":{%s},\"held\":%lld,\"listeners\":[%s],\"sockets\":%lld,\"processes\":%s}",
       server ? "server" : "client", elapsed_ms(), ports, view.held, listeners, view.sockets, processes);
}

/* The application this observer started (`--`), while it runs; 0 when there is none. */
static pid_t app_pid = 0;
/* How long the application has to end after the stop signal is passed on (a container's grace is 10 s). */
#define APP_STOP_MS 8000

/* Starts the application as a child with the signal handling a fresh process has; one it cannot start is a fatal line. */
static void start_application(char **argv) {
  app_pid = fork();
  if (app_pid < 0) fatal("fork() for the application failed", errno);
  if (app_pid > 0) return;
  struct sigaction plain = {.sa_handler = SIG_DFL};
  sigemptyset(&plain.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &plain, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(argv[0], argv);
  char message[300];
  snprintf(message, sizeof message, "the application's command %.200s could not be started", argv[0]);
  fatal(message, errno);
}

/* Reaps what ended; the application's end is an `exit` line. Returns whether the application is still running. */
static int reap(const char *role) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid != app_pid) continue;
    app_pid = 0;
    if (WIFSIGNALED(status))
      emit("{\"event\":\"exit\",\"role\":\"%s\",\"code\":null,\"signal\":%d,\"t\":%lld}", role, WTERMSIG(status), elapsed_ms());
    else
      emit("{\"event\":\"exit\",\"role\":\"%s\",\"code\":%d,\"signal\":null,\"t\":%lld}", role, WEXITSTATUS(status), elapsed_ms());
  }
  return app_pid != 0;
}

/* Passes the stop on to the application and waits for it to end, killing it after APP_STOP_MS. */
static void stop_application(const char *role) {
  if (!app_pid) return;
  kill(app_pid, SIGTERM);
  long long until = elapsed_ms() + APP_STOP_MS;
  while (reap(role)) {
    if (elapsed_ms() > until) kill(app_pid, SIGKILL);
    struct timespec pause = {0, 10 * 1000000L};
    nanosleep(&pause, NULL);
  }
}

/* How long a server's observer waits for the application to listen on every port before it says it does not. */
#define LISTEN_WAIT_MS 20000

static void add_listening_port(int port, const char *state, void *arg) {
  if (strcmp(state, "0A")) return;
  add_port(port, state, arg);
}

/* The application listens on none or only some of --ports: a fatal line that says where it does listen. */
static void no_listener(const struct options *o) {
  int ports[MAX_BOUND];
  struct port_set set = {.ports = ports, .count = 0, .max = MAX_BOUND};
  for_each_tcp_socket(add_listening_port, &set);
  char wanted[MAX_PORTS * 7] = "", found[MAX_BOUND * 7] = "", message[1024];
  for (int i = 0, at = 0; i < o->nports; i++) at += snprintf(wanted + at, sizeof wanted - at, "%s%d", i ? ", " : "", o->ports[i]);
  for (int i = 0, at = 0; i < set.count; i++) at += snprintf(found + at, sizeof found - at, "%s%d", i ? ", " : "", ports[i]);
  snprintf(message, sizeof message, "the application did not listen on every one of ports %s within %d s (it listens on: %s, Docker's DNS listener among them); set server.ports to where it listens", wanted,
           LISTEN_WAIT_MS / 1000, set.count ? found : "none");
  fatal(message, ETIMEDOUT);
}

/*
 * Observes until SIGTERM: a `ready` line first (the namespace's port range and sysctls, and the application's nofile:
 * its first process's), then an observation every interval and a last one when stopped. A server's observer waits
 * for the application to listen on every port before it says ready.
 */
static int run_observer(struct options *o) {
  int server = !strcmp(o->observe_role, "server");
  const char *role = server ? "server" : "client";
  if (o->nports == 0) fatal("observe needs --ports", EINVAL);
  if (o->exec_argv) start_application(o->exec_argv);
  int unreadable = 0;
  for (;;) {
    struct kernel_view view = {.o = o, .server = server};
    int err = dump_tcp(AF_INET, &view);
    dump_tcp(AF_INET6, &view);
    if (err) fatal("reading the namespace's sockets (sock_diag)", err);
    int listening = 0;
    for (int i = 0; i < o->nports; i++)
      for (int j = 0; j < view.nlisteners; j++)
        if (view.listeners[j].port == o->ports[i]) {
          listening++;
          break;
        }
    if (!server || listening == o->nports || stop_requested) break;
    if (o->exec_argv && !reap(role)) fatal("the application ended before it listened on every one of --ports (its exit line says how)", ECHILD);
    if (elapsed_ms() > LISTEN_WAIT_MS) no_listener(o);
    struct timespec pause = {0, 20 * 1000000L};
    nanosleep(&pause, NULL);
  }
  char extra[MAX_APP_PROCESSES * 96 + 32];
  char processes[MAX_APP_PROCESSES * 96];
  app_processes(processes, sizeof processes);
  snprintf(extra, sizeof extra, ",\"observed\":%s", processes);
  listeners_only = 1;
  emit_ready(role, 1, -1, extra);
  while (!stop_requested) {
    /* The observer is the namespace's first process: it reaps what the application leaves behind. */
    reap(role);
    long long before = elapsed_ms();
    emit_observation(o, server, &unreadable);
    /* A kept run has read what it needs (SIGUSR2): the observer says it is done, and goes on looking until stopped. */
    if (go_received) {
      go_received = 0;
      emit("{\"event\":\"done\",\"role\":\"%s\",\"worker\":0,\"count\":-1,\"errno\":\"none\",\"reason\":\"kept\",\"t\":%lld}",
           role, elapsed_ms());
    }
    /* Observing must not slow what it observes: with tens of thousands of sockets a dump takes tens of ms (about
       2 us a socket here), so the observer waits at least 4 times as long as its last look took (at most a fifth
       of one core). */
    long long cost = elapsed_ms() - before, wait = o->interval_ms > 4 * cost ? o->interval_ms : 4 * cost;
    struct timespec pause = {wait / 1000, (wait % 1000) * 1000000L};
    nanosleep(&pause, NULL);
  }
  emit_observation(o, server, &unreadable);
  stop_application(role);
  /* The observer's end, as a worker's: what it saw is in the observations, not in a count of its own (-1). */
  emit("{\"event\":\"done\",\"role\":\"%s\",\"worker\":0,\"count\":-1,\"errno\":\"none\",\"reason\":\"signal\",\"t\":%lld}",
       role, elapsed_ms());
  return 0;
}

