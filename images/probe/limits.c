/*
 * `probe limits`: the kernel's limits as the probe finds them, in its `ready` line (role "limits"): in the host's
 * network namespace the conntrack table that bridged traffic fills, the kernel's open files and memory, the cores and
 * the established hash the port search's cost rests on, the slab objects a connection is made of, whether the kernel
 * takes IP_LOCAL_PORT_RANGE, its build, and which namespace of which boot this is. Part of probe.c's one translation
 * unit.
 */

/* The conntrack table: its size, its entries, and how many are established TCP connections (the rest, closing or
   UDP, expire within minutes). */
static int conntrack_json(char *extra, size_t size) {
  int at = 0;
  long max = read_long("/proc/sys/net/netfilter/nf_conntrack_max", -1), count = read_long("/proc/sys/net/netfilter/nf_conntrack_count", -1);
  long established = conntrack_established();
  if (max >= 0 && count >= 0) {
    at += snprintf(extra + at, size - at, ",\"conntrack\":{\"max\":%ld,\"count\":%ld", max, count);
    if (established >= 0) at += snprintf(extra + at, size - at, ",\"established\":%ld", established);
    at += snprintf(extra + at, size - at, "}");
  }
  return at;
}

/* The kernel's global limits, the same from every namespace: open files and the memory available. */
static int files_memory_json(char *extra, size_t size) {
  int at = 0;
  /* The kernel's global limits, the same from every namespace: open files (fs.file-nr: allocated, free, max; both
     ends of a connection between two containers of one host are files of one kernel) and the memory available. */
  long long files_allocated = -1, files_free = -1, files_max = -1, available_kb = -1;
  FILE *file_nr = fopen("/proc/sys/fs/file-nr", "re");
  if (file_nr) {
    if (fscanf(file_nr, "%lld %lld %lld", &files_allocated, &files_free, &files_max) != 3) files_allocated = -1;
    fclose(file_nr);
  }
  FILE *meminfo = fopen("/proc/meminfo", "re");
  if (meminfo) {
    char key[64];
    long long value;
    while (fscanf(meminfo, "%63s %lld kB\n", key, &value) == 2)
      if (!strcmp(key, "MemAvailable:")) available_kb = value;
    fclose(meminfo);
  }
  if (files_allocated >= 0)
    at += snprintf(extra + at, size - at, ",\"files\":{\"allocated\":%lld,\"max\":%lld}", files_allocated, files_max);
  if (available_kb >= 0) at += snprintf(extra + at, size - at, ",\"memoryAvailableKb\":%lld", available_kb);
  return at;
}

/* The cores and the established hash, and the slab objects a connection's kernel memory is made of. */
static int cores_slabs_json(char *extra, size_t size) {
  int at = 0;
  /* What the port search's cost rests on: the cores that share it, and the established hash every namespace's
     connections share (tcp_ehash_entries; negative in a namespace that shares the initial namespace's table). */
  long cores = sysconf(_SC_NPROCESSORS_ONLN), ehash = read_long("/proc/sys/net/ipv4/tcp_ehash_entries", 0);
  if (cores > 0) at += snprintf(extra + at, size - at, ",\"cores\":%ld", cores);
  if (ehash != 0) at += snprintf(extra + at, size - at, ",\"ehashEntries\":%ld", ehash < 0 ? -ehash : ehash);
  /* The slab objects a connection's kernel memory is made of (their sizes in /proc/slabinfo, root only): a TCP
     socket, its inode and file and dentry, an epoll item, a conntrack entry, a TIME_WAIT socket. */
  FILE *slabinfo = fopen("/proc/slabinfo", "re");
  if (slabinfo) {
    static const char *const wanted[] = {"TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi", "nf_conntrack", "tw_sock_TCP"};
    char line[512], name[64];
    long active, total, objsize;
    int found = 0;
    while (fgets(line, sizeof line, slabinfo)) {
      if (sscanf(line, "%63s %ld %ld %ld", name, &active, &total, &objsize) != 4) continue;
      for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++) {
        if (strcmp(name, wanted[i])) continue;
        at += snprintf(extra + at, size - at, "%s\"%s\":%ld", found++ ? "," : ",\"slabBytes\":{", name, objsize);
      }
    }
    if (found) at += snprintf(extra + at, size - at, "}");
    fclose(slabinfo);
  }
  return at;
}

/* The kernel itself: IP_LOCAL_PORT_RANGE taken or not, its build, its namespace and boot. */
static int kernel_json(char *extra, size_t size) {
  int at = 0;
  /* Whether this kernel takes IP_LOCAL_PORT_RANGE (a socket's own port range): only trying says, since it came in
     6.3 and was backported to 6.1.32 and later 6.1 kernels; a kernel without it fails with ENOPROTOOPT. 0 asks for
     no range of its own, so nothing changes. Beside it the kernel's build (uname -v: "#1 SMP ... Debian
     6.1.192-3 ..."), which names the upstream version the release ("6.1.0-57-cloud-amd64") hides. */
  int tester = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (tester >= 0) {
    uint32_t none = 0;
    int taken = setsockopt(tester, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &none, sizeof none) == 0;
    if (taken || errno == ENOPROTOOPT) at += snprintf(extra + at, size - at, ",\"ipLocalPortRange\":%s", taken ? "true" : "false");
    close(tester);
  }
  struct utsname uts;
  if (uname(&uts) == 0) {
    char build[sizeof uts.version];
    size_t out = 0;
    for (const char *c = uts.version; *c && out + 1 < sizeof build; c++)
      if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20) build[out++] = *c;
    build[out] = 0;
    at += snprintf(extra + at, size - at, ",\"kernelBuild\":\"%s\"", build);
  }
  /* Which network namespace of which boot this is ("net:[4026531840]" and the boot id): a process that finds the
     same two for itself shares this namespace, and can read the same table without a container. */
  char netns[64] = "", boot_id[64] = "";
  ssize_t length = readlink("/proc/self/ns/net", netns, sizeof netns - 1);
  if (length > 0) netns[length] = 0;
  if (read_text("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id) == 0) boot_id[strcspn(boot_id, "\n")] = 0;
  if (length > 0 && boot_id[0]) snprintf(extra + at, size - at, ",\"netns\":\"%s\",\"bootId\":\"%s\"", netns, boot_id);
  return at;
}

static int run_limits(void) {
  char extra[1536] = "";
  int at = conntrack_json(extra, sizeof extra);
  at += files_memory_json(extra + at, sizeof extra - at);
  at += cores_slabs_json(extra + at, sizeof extra - at);
  kernel_json(extra + at, sizeof extra - at);
  emit_ready("limits", 1, -1, extra);
  return 0;
}
