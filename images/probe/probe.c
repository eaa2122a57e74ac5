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
 *
 * One translation unit in rooms: this file holds what every part shares (headers, sizes) and main(); each part is a
 * file of its own, included below in the order they build on each other. scripts/build-probe.sh compiles it, for the
 * image (glibc, static) and as the host binary (musl, static).
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
#include <strings.h>
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

#include "signals.c"
#include "output.c"
#include "namespace.c"
#include "options.c"
#include "workers.c"
#include "server.c"
#include "addresses.c"
#include "connect.c"
#include "steps.c"
#include "client.c"
#include "sysctls.c"
#include "limits.c"
#include "diag.c"
#include "processes.c"
#include "observer.c"
#include "inspect.c"

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
  if (!strcmp(o.role, "limits")) return run_limits();
  if (!strcmp(o.role, "sysctls")) return run_sysctls();
  if (!strcmp(o.role, "server")) return run_server(&o);
  if (!strcmp(o.role, "client")) return run_client(&o);
  if (!strcmp(o.role, "observe")) return run_observer(&o);
  fatal("usage: probe limits | sysctls | inspect [--netns-of PID | --own-netns] | server --ports P [...] | client --server HOST --ports P [...] | observe --role R --ports P [-- COMMAND...]", EINVAL);
  return 2;
}
