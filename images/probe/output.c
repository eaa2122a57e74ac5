/*
 * The probe's output: one JSON line per write(2), errno names as the kernel's headers spell them, and the fatal line
 * that ends a probe that cannot run. Part of probe.c's one translation unit.
 */

/* One JSON line, written with a single write(2). */
static void emit(const char *fmt, ...) {
  char line[LINE_MAX_BYTES];
  va_list args;
  va_start(args, fmt);
  int len = vsnprintf(line, sizeof line - 2, fmt, args);
  va_end(args);
  if (len < 0) return;
  if (len > (int)sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t off = 0;
  while (off < len) {
    ssize_t n = write(STDOUT_FILENO, line + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += n;
  }
}

static const char *errno_name(int err) {
  switch (err) {
    case 0: return "none";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECHILD: return "ECHILD";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EADDRINUSE: return "EADDRINUSE";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case ECONNABORTED: return "ECONNABORTED";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EINVAL: return "EINVAL";
    default: {
      static char unknown[16];
      snprintf(unknown, sizeof unknown, "E%d", err);
      return unknown;
    }
  }
}

static void fatal(const char *what, int err) {
  emit("{\"event\":\"fatal\",\"message\":\"%s\",\"errno\":\"%s\",\"t\":%lld}", what, errno_name(err), elapsed_ms());
  exit(2);
}
