/*
 * Signals and the probe's clock: what a stop, a handoff, a go and a child's end set, and the time since the probe
 * started, by which progress lines are paced. Part of probe.c's one translation unit (see probe.c).
 */

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
