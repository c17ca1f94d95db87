// IPv6 raw-socket calls that need ancillary data (RFC 3542): Swift cannot
// use the CMSG_* macros, so they live here.
#ifndef CSOCKETS_H
#define CSOCKETS_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>

/// Receives one datagram; reports the sender, the destination address and
/// interface (IPV6_PKTINFO) and the hop limit (IPV6_HOPLIMIT), -1 where the
/// kernel gave none. Needs IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT set.
/// Returns the length, or -1 with errno.
ssize_t csock_receive(int fd, void *buffer, size_t length, struct sockaddr_in6 *from,
                      struct in6_addr *destination, int *interface, int *hop_limit);

/// Sends one datagram to `to`, from `source` (may be NULL) out of
/// `interface` (0: let routing choose) with `hop_limit` (-1: the default).
ssize_t csock_send(int fd, const void *buffer, size_t length, const struct sockaddr_in6 *to,
                   const struct in6_addr *source, int interface, int hop_limit);

/// Sends datagrams `first` to `count - 1` (sendmmsg), each to its own
/// address, in one call: a receiver woken by the first, which on a kernel
/// without preemption takes the sender's core at the return to user space,
/// no longer runs between every two sends (the kernel may still yield
/// between datagrams of one call). Returns how many were sent from
/// `first` on (fewer when one fails), or -1 with errno when `first` fails.
int csock_send_many(int fd, const void *const *buffers, const size_t *lengths,
                    const struct sockaddr_in6 *to, unsigned first, unsigned count);

/// Enables IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT; returns 0 or -1.
int csock_enable_ancillary(int fd);

/// Lets only these ICMPv6 types through (ICMP6_FILTER); returns 0 or -1.
int csock_icmp6_filter(int fd, const unsigned char *types, int count);

/// Waits up to `nanoseconds` (ppoll: no rounding to milliseconds, which
/// would make a sub-millisecond wait a busy loop) for `fd` to be readable;
/// returns 1 if it is, 0 on timeout, -1 with errno.
int csock_wait_readable(int fd, long long nanoseconds);

/// Opens a packet socket (AF_PACKET, cooked) for the IPv6 frames arriving
/// on interface `ifindex`, non-blocking; returns the descriptor or -1.
int csock_frames_open(int ifindex);

/// Reads one frame; if it came from another host, puts its link-layer
/// source address in `address` (room for `capacity` bytes) and returns the
/// address's length; 0 for a frame of our own; -1 with errno (EAGAIN: none).
int csock_frames_source(int fd, unsigned char *address, int capacity);

/// Closes a packet socket off the caller's thread (one thread, started with
/// the first packet socket, closes them all in turn): the kernel waits for
/// an RCU grace period (about 10 ms here) before close returns.
void csock_frames_close(int fd);

#endif
