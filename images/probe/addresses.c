/*
 * Addresses: the server's name resolved (a minimal DNS query against the container's nameserver), the container's
 * own IPv4 and IPv6 addresses, and the source addresses added to its interface for --sources. Part of probe.c's one
 * translation unit.
 */

/* The first nameserver of /etc/resolv.conf as a socket address, IPv4 or IPv6 (Podman lists a dual-stack network's
   IPv6 gateway first); Docker's embedded DNS, 127.0.0.11, where there is none. Returns the address's length. */
static socklen_t nameserver_address(struct sockaddr_storage *out) {
  char conf[2048] = "", nameserver[64] = "127.0.0.11";
  if (read_text("/etc/resolv.conf", conf, sizeof conf) == 0) {
    char *line = strstr(conf, "nameserver");
    if (line) sscanf(line, "nameserver %63s", nameserver);
  }
  memset(out, 0, sizeof *out);
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET6, nameserver, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(53);
    return sizeof *v6;
  }
  struct sockaddr_in *v4 = (struct sockaddr_in *)out;
  v4->sin_family = AF_INET;
  v4->sin_port = htons(53);
  inet_pton(AF_INET, nameserver, &v4->sin_addr);
  return sizeof *v4;
}

/* The host's address on the container's IPv4 network: the first address of eth0's subnet, where Docker's and
   Podman's address management put the bridge's gateway (an internal network has no default route to read it from). */
static int gateway_address(struct in_addr *out) {
  struct ifaddrs *list;
  if (getifaddrs(&list) != 0) return -1;
  int result = -1;
  for (struct ifaddrs *entry = list; entry; entry = entry->ifa_next) {
    if (!entry->ifa_addr || !entry->ifa_netmask || entry->ifa_addr->sa_family != AF_INET || !strcmp(entry->ifa_name, "lo"))
      continue;
    uint32_t address = ntohl(((struct sockaddr_in *)entry->ifa_addr)->sin_addr.s_addr);
    uint32_t mask = ntohl(((struct sockaddr_in *)entry->ifa_netmask)->sin_addr.s_addr);
    out->s_addr = htonl((address & mask) + 1);
    result = 0;
    break;
  }
  freeifaddrs(list);
  return result;
}

/* `host`'s address of `family` in /etc/hosts (an engine writes names there that its DNS does not answer: Podman's
   host.containers.internal). */
static int hosts_file_address(const char *host, int family, void *out) {
  char text[8192] = "";
  if (read_text("/etc/hosts", text, sizeof text) != 0) return -1;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char address[64], names[4][256];
    int fields = sscanf(line, "%63s %255s %255s %255s %255s", address, names[0], names[1], names[2], names[3]);
    for (int k = 0; k + 1 < fields; k++)
      if (!strcasecmp(names[k], host) && inet_pton(family, address, out) == 1) return 0;
  }
  return -1;
}

/* `host`'s address of `family` (`out` is an in_addr or an in6_addr): a literal address, @gateway (the host's address
   on the container's network), a name in /etc/hosts, else a minimal lookup of one A (AF_INET) or AAAA (AF_INET6)
   record against the container's nameserver (Docker's embedded DNS or Podman's aardvark-dns, which answer both on a
   network with IPv6). */
static int resolve_address(const char *host, int family, void *out) {
  if (inet_pton(family, host, out) == 1) return 0;
  if (!strcmp(host, "@gateway")) return family == AF_INET ? gateway_address(out) : -1;
  if (hosts_file_address(host, family, out) == 0) return 0;
  int qtype = family == AF_INET6 ? 28 : 1, rdsize = family == AF_INET6 ? 16 : 4;
  unsigned char query[512], answer[1024];
  int len = 0;
  unsigned short id = (unsigned short)(getpid() ^ elapsed_ms());
  unsigned char header[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(query, header, 12);
  len = 12;
  for (const char *label = host; *label;) {
    const char *dot = strchr(label, '.');
    int n = dot ? (int)(dot - label) : (int)strlen(label);
    if (n == 0 || n > 63 || len + n + 6 > (int)sizeof query) return -1;
    query[len++] = (unsigned char)n;
    memcpy(query + len, label, n);
    len += n;
    label += n + (dot ? 1 : 0);
  }
  query[len++] = 0;
  query[len++] = 0; query[len++] = (unsigned char)qtype; /* type A or AAAA */
  query[len++] = 0; query[len++] = 1; /* class IN */

  struct sockaddr_storage ns;
  socklen_t ns_len = nameserver_address(&ns);
  int fd = socket(ns.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int result = -1;
  if (connect(fd, (struct sockaddr *)&ns, ns_len) == 0 && send(fd, query, len, 0) == len) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 1000) == 1) {
      ssize_t n = recv(fd, answer, sizeof answer, 0);
      int answers = n >= 12 ? (answer[6] << 8 | answer[7]) : 0;
      int at = len; /* the question is echoed back */
      for (int a = 0; a < answers && at < n; a++) {
        if ((answer[at] & 0xc0) == 0xc0) at += 2;
        else { while (at < n && answer[at]) at += answer[at] + 1; at++; }
        if (at + 10 > n) break;
        int type = answer[at] << 8 | answer[at + 1], rdlen = answer[at + 8] << 8 | answer[at + 9];
        at += 10;
        if (type == qtype && rdlen == rdsize && at + rdsize <= n) { memcpy(out, answer + at, rdsize); result = 0; break; }
        at += rdlen;
      }
    }
  }
  close(fd);
  return result;
}

/*
 * Gives the first interface (eth0) `count` more IPv4 addresses, aliases eth0:1, eth0:2, ... taken from the top of
 * its subnet (broadcast - 1, - 2, ...), where Docker's address allocation, which counts up from the bottom, does
 * not reach. Needs CAP_NET_ADMIN. Returns 0, or the errno of the ioctl that failed.
 */
static int add_alias_addresses(const char *ifname, struct in_addr primary, struct in_addr netmask, int count) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  uint32_t broadcast = ntohl(primary.s_addr) | ~ntohl(netmask.s_addr);
  int err = 0;
  for (int k = 1; k <= count && !err; k++) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    snprintf(request.ifr_name, sizeof request.ifr_name, "%s:%d", ifname, k);
    struct sockaddr_in *address = (struct sockaddr_in *)&request.ifr_addr;
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(broadcast - (uint32_t)k);
    if (ioctl(fd, SIOCSIFADDR, &request) != 0) { err = errno; break; }
    address->sin_addr = netmask;
    if (ioctl(fd, SIOCSIFNETMASK, &request) != 0) err = errno;
  }
  close(fd);
  return err;
}

/* The container's global IPv6 addresses (not loopback, not link-local), in the order the kernel lists them. */
static int local_ipv6_addresses(struct in6_addr *out, char (*names)[IFNAMSIZ_PLAIN], int max) {
  struct ifaddrs *list;
  if (getifaddrs(&list) != 0) return -1;
  int count = 0;
  for (struct ifaddrs *entry = list; entry && count < max; entry = entry->ifa_next) {
    if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET6 || !strcmp(entry->ifa_name, "lo")) continue;
    struct in6_addr address = ((struct sockaddr_in6 *)entry->ifa_addr)->sin6_addr;
    if (IN6_IS_ADDR_LINKLOCAL(&address) || IN6_IS_ADDR_LOOPBACK(&address)) continue;
    if (names) snprintf(names[count], IFNAMSIZ_PLAIN, "%s", entry->ifa_name);
    out[count++] = address;
  }
  freeifaddrs(list);
  return count;
}

/*
 * Gives interface `ifname` `count` more IPv6 addresses in the /64 of its own `primary` (SIOCSIFADDR on an AF_INET6
 * socket: addrconf_add_ifaddr), each the primary with fe:k in the top of its interface ID, so that no other
 * container's (Docker numbers them from the bottom, ::2, ::3, ...) or another client's aliases collide. Then waits
 * for duplicate address detection: a tentative address refuses bind() with EADDRNOTAVAIL for a second or two.
 * Needs CAP_NET_ADMIN. Returns 0, or the errno that failed.
 */
static int add_ipv6_aliases(const char *ifname, struct in6_addr primary, int count) {
  struct {
    struct in6_addr addr;
    uint32_t prefixlen;
    int ifindex;
  } request = {.prefixlen = 64, .ifindex = (int)if_nametoindex(ifname)};
  if (request.ifindex == 0) return errno;
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
  for (int k = 1; k <= count && !err; k++) {
    request.addr = primary;
    request.addr.s6_addr[8] = 0xfe;
    request.addr.s6_addr[9] = (uint8_t)k;
    if (ioctl(fd, SIOCSIFADDR, &request) != 0) err = errno;
  }
  close(fd);
  for (int k = 1; k <= count && !err; k++) {
    struct sockaddr_in6 local = {.sin6_family = AF_INET6, .sin6_addr = primary};
    local.sin6_addr.s6_addr[8] = 0xfe;
    local.sin6_addr.s6_addr[9] = (uint8_t)k;
    for (int attempt = 0;; attempt++) {
      int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
      if (probe < 0) return errno;
      setsockopt(probe, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      int bound = bind(probe, (struct sockaddr *)&local, sizeof local) == 0 ? 0 : errno;
      close(probe);
      if (bound == 0) break;
      if (bound != EADDRNOTAVAIL || attempt >= 100) return bound;
      usleep(50000);
    }
  }
  return err;
}

/* The container's IPv4 addresses other than loopback, in interface order (eth0, eth0:1, ..., eth1, ...). */
static int local_ipv4_addresses(struct in_addr *out, int max) {
  struct ifaddrs *list;
  if (getifaddrs(&list) != 0) return -1;
  int count = 0;
  char names[MAX_SOURCES][IFNAMSIZ_PLAIN];
  for (struct ifaddrs *entry = list; entry; entry = entry->ifa_next) {
    if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET || !strcmp(entry->ifa_name, "lo") || count >= max) continue;
    struct in_addr address = ((struct sockaddr_in *)entry->ifa_addr)->sin_addr;
    int at = count++;
    /* insertion sort by interface name */
    while (at > 0 && strcmp(names[at - 1], entry->ifa_name) > 0) {
      out[at] = out[at - 1];
      memcpy(names[at], names[at - 1], IFNAMSIZ_PLAIN);
      at--;
    }
    out[at] = address;
    snprintf(names[at], IFNAMSIZ_PLAIN, "%s", entry->ifa_name);
  }
  freeifaddrs(list);
  return count;
}
