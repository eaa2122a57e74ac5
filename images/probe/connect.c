/*
 * One connect(): the endpoints a client connects to, what it binds before (bind(0), IP_BIND_ADDRESS_NO_PORT, a fixed
 * port), and a connect() with a deadline that returns the errno that stopped it. Part of probe.c's one translation unit.
 */

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

