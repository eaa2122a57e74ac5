/*
 * Workers: forked processes sharing the container's network namespace, each with its share of the descriptor budget;
 * PID 1 supervises them, passes signals on and reaps them. Part of probe.c's one translation unit.
 */

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
