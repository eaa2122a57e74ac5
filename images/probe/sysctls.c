/*
 * `probe sysctls`: every sysctl of the network namespace, as sysctl(8) names them. Part of probe.c's one translation
 * unit.
 */

/* Appends the name of every file under `dir` (a path under /proc/sys) to `out` as a JSON string, dotted as sysctl(8)
   names them ("net.ipv4.tcp_tw_reuse"). The names have no characters JSON must escape. */
static void list_sysctls(char *dir, size_t dir_size, char *out, size_t out_size, size_t *at, int *first) {
  DIR *listing = opendir(dir);
  if (!listing) return;
  size_t length = strlen(dir);
  struct dirent *entry;
  while ((entry = readdir(listing)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    if (length + 1 + strlen(entry->d_name) + 1 > dir_size) continue;
    snprintf(dir + length, dir_size - length, "/%s", entry->d_name);
    if (entry->d_type == DT_DIR) {
      list_sysctls(dir, dir_size, out, out_size, at, first);
    } else if (*at + strlen(dir) + 4 < out_size) {
      *at += snprintf(out + *at, out_size - *at, "%s\"", *first ? "" : ",");
      for (const char *c = dir + strlen("/proc/sys/"); *c; c++) out[(*at)++] = *c == '/' ? '.' : *c;
      out[(*at)++] = '"';
      *first = 0;
    }
    dir[length] = 0;
  }
  closedir(listing);
}

/* `probe sysctls`: one line naming every sysctl under /proc/sys/net that this network namespace has, so portlab can
   tell a misspelt sysctl from one this kernel has before anything runs. One process writes it, so its length (tens
   of kilobytes, past PIPE_BUF) cannot interleave with another line. */
static int run_sysctls(void) {
  static char names[256 * 1024];
  char dir[512] = "/proc/sys/net";
  size_t at = 0;
  int first = 1;
  list_sysctls(dir, sizeof dir, names, sizeof names, &at, &first);
  names[at] = 0;
  char head[96];
  int head_length = snprintf(head, sizeof head, "{\"event\":\"sysctls\",\"t\":%lld,\"names\":[", elapsed_ms());
  const char *parts[] = {head, names, "]}\n"};
  size_t lengths[] = {(size_t)head_length, at, 3};
  for (int i = 0; i < 3; i++) {
    size_t off = 0;
    while (off < lengths[i]) {
      ssize_t n = write(STDOUT_FILENO, parts[i] + off, lengths[i] - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 1;
      off += n;
    }
  }
  return 0;
}
