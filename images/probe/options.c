/*
 * The command line: the options of every role, the client's steps and phases, checked as they are read (a wrong one
 * is a fatal line). Part of probe.c's one translation unit.
 */

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
