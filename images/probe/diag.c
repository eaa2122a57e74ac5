/*
 * Netlink sock_diag, shared by `probe observe` and `probe inspect`: one dump of a family's TCP sockets in every state
 * (inet_diag_rcv_msg), each socket handed to a callback, and the kernel's TCP state names as ss(8) spells them. Part
 * of probe.c's one translation unit.
 */

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>

#define TCP_STATES 12

/* The kernel's TCP states (include/net/tcp_states.h), as ss(8) spells them. */
static const char *const TCP_STATE_NAMES[TCP_STATES] = {
    "UNKNOWN", "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
};

/* Every TCP state, for diag_dump's `states`; 1 << TCP_LISTEN alone asks for the listening sockets. */
#define ALL_TCP_STATES (~0u)

/*
 * One sock_diag dump of a family's TCP sockets in the `states` asked for (a bit per state: the kernel skips the
 * others itself), each handed to `take`. 0, or the errno that stopped it.
 */
static int diag_dump(int family, unsigned states, void (*take)(const struct inet_diag_msg *, void *), void *arg) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return errno;
  struct {
    struct nlmsghdr header;
    struct inet_diag_req_v2 request;
  } ask = {.header = {.nlmsg_len = sizeof ask, .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
           .request = {.sdiag_family = family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = states}};
  if (send(fd, &ask, sizeof ask, 0) < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  static char buffer[1 << 16];
  for (;;) {
    ssize_t length = recv(fd, buffer, sizeof buffer, 0);
    if (length < 0 && errno == EINTR) continue;
    if (length <= 0) break;
    for (struct nlmsghdr *header = (struct nlmsghdr *)buffer; NLMSG_OK(header, (size_t)length); header = NLMSG_NEXT(header, length)) {
      if (header->nlmsg_type == NLMSG_DONE) {
        close(fd);
        return 0;
      }
      if (header->nlmsg_type == NLMSG_ERROR) {
        int err = -((struct nlmsgerr *)NLMSG_DATA(header))->error;
        close(fd);
        return err;
      }
      take((const struct inet_diag_msg *)NLMSG_DATA(header), arg);
    }
  }
  close(fd);
  return EIO;
}
