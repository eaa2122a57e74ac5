/*
 * `probe client`: resolve the server, take the source addresses asked for, report ready, then run the steps in
 * workers and hold what they made until the run ends. Part of probe.c's one translation unit.
 */

/* A worker: its share of the budget, then its step (or each phase in turn), then it holds what it has until the end. */
static void client_worker(int index, void *arg) {
  struct client_ctx *ctx = arg;
  struct options *o = ctx->o;
  long long budget = take_budget(index, o->fd_budget, ctx->fds_open);
  emit("{\"event\":\"worker\",\"role\":\"client\",\"worker\":%d,\"pid\":%d,\"budget\":%lld,\"t\":%lld}", index, getpid(), budget, elapsed_ms());
  if (o->nphases > 0) {
    for (int p = 0; p < o->nphases && !stop_requested; p++) run_step(index, ctx, &o->phases[p]);
  } else {
    struct step step = {.phase = 0, .mode = o->mode, .nports = o->nports, .duration_ms = o->duration_ms, .rate = o->rate, .close = o->close};
    memcpy(step.ports, o->ports, sizeof step.ports);
    run_step(index, ctx, &step);
  }
  wait_for_stop(); /* hold every connection until the run ends */
  reset_on_exit();
}

/* --sources: the container's own addresses, and more added to its interface (eth0:1, ...) where it has too few. */
static void take_sources(const struct options *o, struct client_ctx *ctx) {
  if (o->sources > 0 && o->families == FAMILY_V6) {
    if (o->sources > MAX_SOURCES) fatal("--sources takes at most 8", EINVAL);
    char names[MAX_SOURCES][IFNAMSIZ_PLAIN];
    int found = local_ipv6_addresses(ctx->sources6, names, MAX_SOURCES);
    if (found < 1) fatal("the container has no IPv6 address to add source addresses beside (ipv6: true makes one)", EADDRNOTAVAIL);
    if (found < o->sources) {
      int err = add_ipv6_aliases(names[0], ctx->sources6[0], o->sources - found);
      if (err) fatal("adding IPv6 source addresses failed (the container needs cap_add: NET_ADMIN)", err);
      found = local_ipv6_addresses(ctx->sources6, NULL, MAX_SOURCES);
    }
    if (found < o->sources) fatal("the container has fewer IPv6 addresses than --sources asks for", EADDRNOTAVAIL);
    ctx->nsources = o->sources;
  } else if (o->sources > 0) {
    if (o->sources > MAX_SOURCES) fatal("--sources takes at most 8", EINVAL);
    int found = local_ipv4_addresses(ctx->sources, MAX_SOURCES);
    if (found >= 1 && found < o->sources) {
      struct ifaddrs *list, *first = NULL;
      if (getifaddrs(&list) != 0) fatal("getifaddrs failed", errno);
      for (struct ifaddrs *entry = list; entry && !first; entry = entry->ifa_next) {
        if (entry->ifa_addr && entry->ifa_addr->sa_family == AF_INET && entry->ifa_netmask &&
            ((struct sockaddr_in *)entry->ifa_addr)->sin_addr.s_addr == ctx->sources[0].s_addr)
          first = entry;
      }
      int err = first ? add_alias_addresses(first->ifa_name, ctx->sources[0], ((struct sockaddr_in *)first->ifa_netmask)->sin_addr,
                                            o->sources - found)
                      : ENODEV;
      freeifaddrs(list);
      if (err) fatal("adding source addresses failed (the container needs cap_add: NET_ADMIN)", err);
      found = local_ipv4_addresses(ctx->sources, MAX_SOURCES);
    }
    if (found < o->sources) fatal("the container has fewer IPv4 addresses than --sources asks for", EADDRNOTAVAIL);
    ctx->nsources = o->sources;
  }
}

static int run_client(struct options *o) {
  if (o->nports == 0 && o->nphases == 0) fatal("client needs --ports or --phase", EINVAL);
  if (o->nphases > 0) {
    /* Phases run in one process, one after another; --ports lists every port they use, for the ready line. */
    o->processes = 1;
    o->handoff = 0;
  }
  int churn = !strcmp(o->mode, "churn");
  if (!churn && strcmp(o->mode, "hold") != 0) fatal("--mode takes hold or churn", EINVAL);
  if (churn && o->duration_ms <= 0) fatal("--mode churn needs --duration-ms", EINVAL);
  const char *gate = getenv("PORTLAB_WAIT_FOR_GO");
  if (gate && *gate) wait_for_go();
  if (stop_requested) return 0;
  struct client_ctx ctx = {.o = o};
  int resolved = -1;
  for (int attempt = 0; attempt < 50 && resolved != 0 && !stop_requested; attempt++) {
    resolved = 0;
    if (o->families & FAMILY_V4) resolved |= resolve_address(o->server, AF_INET, &ctx.server);
    if (o->families & FAMILY_V6) resolved |= resolve_address(o->server, AF_INET6, &ctx.server6);
    if (resolved != 0) usleep(200000);
  }
  if (resolved != 0) fatal(o->families & FAMILY_V6 ? "cannot resolve the server's name to an IPv6 address (AAAA)" : "cannot resolve the server's name", EHOSTUNREACH);
  if (o->socket_port_range) {
    /* A kernel without the option (before 6.3) refuses it: say so once, before any connect(). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fatal("socket() failed", errno);
    if (setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &o->socket_port_range, sizeof o->socket_port_range) != 0)
      fatal("this kernel refuses IP_LOCAL_PORT_RANGE (Linux 6.3 and later have it)", errno);
    close(fd);
  }
  take_sources(o, &ctx);
  ctx.fds_open = count_open_fds();
  char sources[MAX_SOURCES * (INET6_ADDRSTRLEN + 3) + 2] = "";
  for (int i = 0, off = 0; i < ctx.nsources; i++) {
    char text[INET6_ADDRSTRLEN];
    if (o->families == FAMILY_V6) inet_ntop(AF_INET6, &ctx.sources6[i], text, sizeof text);
    else inet_ntop(AF_INET, &ctx.sources[i], text, sizeof text);
    off += snprintf(sources + off, sizeof sources - off, "%s\"%s\"", i ? "," : "", text);
  }
  /* The server's addresses it connects to: "server" (IPv4, or IPv6 alone) and "server6" when both. */
  char server_text[INET6_ADDRSTRLEN] = "", server6_text[INET6_ADDRSTRLEN + 16] = "";
  if (o->families & FAMILY_V4) inet_ntop(AF_INET, &ctx.server, server_text, sizeof server_text);
  if (o->families & FAMILY_V6) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &ctx.server6, text, sizeof text);
    if (o->families & FAMILY_V4) snprintf(server6_text, sizeof server6_text, ",\"server6\":\"%s\"", text);
    else snprintf(server_text, sizeof server_text, "%s", text);
  }
  char extra[800];
  snprintf(extra, sizeof extra, ",\"server\":\"%s\"%s,\"targets\":%d,\"handoff\":%s,\"sources\":[%s],\"phases\":%d", server_text,
           server6_text, o->nports, o->handoff ? "true" : "false", sources, o->nphases);
  emit_ready("client", o->processes, o->fd_budget, extra);

  if (o->handoff && !churn) spawn_in_turn(o->processes, client_worker, &ctx);
  else spawn(o->processes, client_worker, &ctx);
  return supervise();
}
