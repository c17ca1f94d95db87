#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include <string.h>
#include <sys/socket.h>
#include "CSockets.h"

ssize_t csock_receive(int fd, void *buffer, size_t length, struct sockaddr_in6 *from,
                      struct in6_addr *destination, int *interface, int *hop_limit) {
    char control[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
    struct iovec iov = { buffer, length };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = from;
    msg.msg_namelen = sizeof *from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) return n;
    *interface = -1;
    *hop_limit = -1;
    memset(destination, 0, sizeof *destination);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != IPPROTO_IPV6) continue;
        if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            *destination = info.ipi6_addr;
            *interface = (int)info.ipi6_ifindex;
        } else if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            memcpy(hop_limit, CMSG_DATA(c), sizeof(int));
        }
    }
    return n;
}

ssize_t csock_send(int fd, const void *buffer, size_t length, const struct sockaddr_in6 *to,
                   const struct in6_addr *source, int interface, int hop_limit) {
    char control[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = { (void *)buffer, length };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = (void *)to;
    msg.msg_namelen = sizeof *to;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo info;
    memset(&info, 0, sizeof info);
    if (source) info.ipi6_addr = *source;
    info.ipi6_ifindex = (unsigned)interface;
    memcpy(CMSG_DATA(c), &info, sizeof info);
    c = CMSG_NXTHDR(&msg, c);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_HOPLIMIT;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &hop_limit, sizeof(int));
    return sendmsg(fd, &msg, 0);
}

int csock_send_many(int fd, const void *const *buffers, const size_t *lengths,
                    const struct sockaddr_in6 *to, unsigned first, unsigned count) {
    enum { batch = 64 };
    struct mmsghdr messages[batch];
    struct iovec iov[batch];
    unsigned n = count - first < batch ? count - first : batch;
    memset(messages, 0, sizeof(struct mmsghdr) * n);
    for (unsigned i = 0; i < n; i++) {
        iov[i].iov_base = (void *)buffers[first + i];
        iov[i].iov_len = lengths[first + i];
        messages[i].msg_hdr.msg_name = (void *)&to[first + i];
        messages[i].msg_hdr.msg_namelen = sizeof to[first + i];
        messages[i].msg_hdr.msg_iov = &iov[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, messages, n, 0);
}

int csock_enable_ancillary(int fd) {
    int on = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0) return -1;
    return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on);
}

int csock_icmp6_filter(int fd, const unsigned char *types, int count) {
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    for (int i = 0; i < count; i++) ICMP6_FILTER_SETPASS(types[i], &filter);
    return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
}

int csock_wait_readable(int fd, long long nanoseconds) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (nanoseconds < 0) nanoseconds = 0;
    struct timespec t = { nanoseconds / 1000000000, nanoseconds % 1000000000 };
    int n = ppoll(&p, 1, &t, NULL);
    return n < 0 ? -1 : n > 0;
}

/* One thread closes packet sockets for the whole process, fed their
   descriptors through a pipe: with a thread started for each close, the
   step that names a node took 40 to 80 us longer. */
static int closer_pipe[2] = { -1, -1 };
static pthread_once_t closer_once = PTHREAD_ONCE_INIT;

static void *closer(void *unused) {
    (void)unused;
    for (;;) {
        int fd;
        ssize_t n = read(closer_pipe[0], &fd, sizeof fd);
        if (n == sizeof fd) close(fd);
        else if (n < 0 && errno == EINTR) continue;
        else return NULL;
    }
}

static void start_closer(void) {
    if (pipe2(closer_pipe, O_CLOEXEC) != 0) return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, closer, NULL) != 0) {
        close(closer_pipe[0]);
        close(closer_pipe[1]);
        closer_pipe[1] = -1;
    }
    pthread_attr_destroy(&attr);
}

int csock_frames_open(int ifindex) {
    pthread_once(&closer_once, start_closer);  // before the socket it will close is needed
    // Protocol 0 here and the real one at bind: a socket that already has a
    // protocol is unhooked again at bind, which waits for an RCU grace period.
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_ll a;
    memset(&a, 0, sizeof a);
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_IPV6);
    a.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int csock_frames_source(int fd, unsigned char *address, int capacity) {
    struct sockaddr_ll from;
    socklen_t length = sizeof from;
    unsigned char frame[1];
    if (recvfrom(fd, frame, sizeof frame, MSG_TRUNC, (struct sockaddr *)&from, &length) < 0) return -1;
    if (from.sll_pkttype == PACKET_OUTGOING || from.sll_halen == 0 || from.sll_halen > capacity) return 0;
    memcpy(address, from.sll_addr, from.sll_halen);
    return from.sll_halen;
}

void csock_frames_close(int fd) {
    pthread_once(&closer_once, start_closer);
    if (closer_pipe[1] < 0 || write(closer_pipe[1], &fd, sizeof fd) != sizeof fd) close(fd);
}
