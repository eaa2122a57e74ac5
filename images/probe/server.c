/*
 * `probe server`: listen on the ports, accept and hold (or close, as --close says) until the run ends, reporting
 * progress and the descriptor limit it reaches. Part of probe.c's one translation unit.
 */

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
    if (bound != 0) {
      int err = errno;
      char what[96];
      snprintf(what, sizeof what, "bind to port %d failed%s", o->ports[i], err == EADDRINUSE ? ": the port is in use in its network namespace" : "");
      fatal(what, err);
    }
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
