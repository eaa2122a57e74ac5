/*
 * The processes of a namespace: their descriptors (/proc/PID/fd) and soft nofile (/proc/PID/limits), the ones that
 * hold the most when there are more than MAX_APP_PROCESSES. Part of probe.c's one translation unit.
 */

#define MAX_APP_PROCESSES 16

/* With `probe inspect --netns-of PID`, only the processes in that network namespace (its nsfs inode) are counted. */
static unsigned long long processes_netns = 0;
/* With --netns-of, the process asked about: always listed, whatever the others hold. */
static int process_asked = 0;

struct process_seen {
  int pid;
  char name[64];
  long long fds, nofile;
};

/*
 * The descriptors a process holds, from its /proc/PID/fd: since Linux 6.2 the directory's size is their count
 * (proc_fd_getattr, proc_readfd_count: one bitmap count, where listing 100,000 entries takes ~100 ms); before, the
 * size is 0 and the entries are counted. -1 when it cannot be read.
 */
static long long count_fds_in(const char *path) {
  struct stat dir;
  if (stat(path, &dir) != 0) return -1;
  if (dir.st_size > 0) return (long long)dir.st_size;
  DIR *fds = opendir(path);
  if (!fds) return -1;
  long long count = 0;
  struct dirent *fd;
  while ((fd = readdir(fds)) != NULL)
    if (fd->d_name[0] != '.') count++;
  closedir(fds);
  return count;
}

/*
 * The application's processes: every process of the PID namespace but this one (with --netns-of, every process in
 * that network namespace), with its descriptors and nofile; past MAX_APP_PROCESSES, the ones holding the most.
 */
static int app_processes(char *out, size_t size) {
  struct process_seen kept[MAX_APP_PROCESSES];
  int nkept = 0;
  DIR *proc = opendir("/proc");
  if (!proc) return snprintf(out, size, "[]");
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    int pid = atoi(entry->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    char path[64];
    if (processes_netns) {
      struct stat ns;
      snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
      if (stat(path, &ns) != 0 || (unsigned long long)ns.st_ino != processes_netns) continue;
    }
    struct process_seen seen = {.pid = pid, .fds = -1, .nofile = -1};
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    if (read_text(path, seen.name, sizeof seen.name) != 0) continue;
    seen.name[strcspn(seen.name, "\n\"\\")] = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    seen.fds = count_fds_in(path);
    char limits[4096] = "";
    snprintf(path, sizeof path, "/proc/%d/limits", pid);
    if (read_text(path, limits, sizeof limits) == 0) {
      const char *line = strstr(limits, "Max open files");
      if (line) sscanf(line + strlen("Max open files"), "%lld", &seen.nofile);
    }
    /* Kept in the order read; once full, one holding more descriptors takes the place of the one holding fewest. */
    if (nkept < MAX_APP_PROCESSES) {
      kept[nkept++] = seen;
      continue;
    }
    int fewest = -1;
    for (int i = 0; i < nkept; i++)
      if (kept[i].pid != process_asked && (fewest < 0 || kept[i].fds < kept[fewest].fds)) fewest = i;
    if (fewest >= 0 && (seen.pid == process_asked || seen.fds > kept[fewest].fds)) kept[fewest] = seen;
  }
  closedir(proc);
  int at = snprintf(out, size, "[");
  for (int i = 0; i < nkept; i++)
    at += snprintf(out + at, size - at, "%s{\"pid\":%d,\"name\":\"%s\",\"fds\":%lld,\"nofile\":%lld}", i ? "," : "", kept[i].pid, kept[i].name,
                   kept[i].fds, kept[i].nofile);
  at += snprintf(out + at, size - at, "]");
  return at;
}
