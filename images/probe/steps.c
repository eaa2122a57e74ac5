/*
 * A client's steps: hold (connect and keep every connection until no destination has a free port) and churn
 * (connect and close, paced at a rate, for a duration). Part of probe.c's one translation unit.
 */

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

