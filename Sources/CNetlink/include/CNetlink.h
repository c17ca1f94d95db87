// The kernel's netlink, rtnetlink, generic netlink and SRv6 definitions for Swift. Glibc's
// module exports none of them. <netinet/in.h> must come first: the linux
// headers otherwise redefine struct in6_addr.
#ifndef CNETLINK_H
#define CNETLINK_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <linux/lwtunnel.h>
#include <linux/seg6.h>
#include <linux/seg6_iptunnel.h>
#include <linux/seg6_local.h>
#include <linux/seg6_genl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_compat.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/bpf.h>
#include <stdint.h>

/// setns(2) for a network namespace: glibc declares setns only with
/// _GNU_SOURCE, which Swift's Glibc module does not set.
int cnl_setns_net(int fd);

// bpf(2), for the tunnel driver on kernels without SRv6 tunnels (see
// `BPFTunnels.swift`). Glibc has no wrapper and union bpf_attr imports badly
// into Swift, so each command used gets a function; each returns a file
// descriptor or 0 on success, and -1 with errno set on failure.
struct bpf_insn;
int cnl_bpf_prog_load(uint32_t type, const struct bpf_insn *insns, uint32_t count, const char *name,
                      char *log, uint32_t log_size);
int cnl_bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags,
                       const char *name);
int cnl_bpf_map_update(int fd, const void *key, const void *value);
int cnl_bpf_map_delete(int fd, const void *key);
int cnl_bpf_map_lookup(int fd, const void *key, void *value);
int cnl_bpf_map_next_key(int fd, const void *key, void *next);
/// Attaches at tcx ingress (kernel 6.6 and later); the attachment stays
/// with the device, not with the descriptor.
int cnl_bpf_tcx_attach(int prog_fd, int ifindex);
/// The ids of the programs at a device's tcx ingress; returns their count.
int cnl_bpf_tcx_query(int ifindex, uint32_t *ids, uint32_t capacity);
int cnl_bpf_prog_fd(uint32_t id);
int cnl_bpf_map_fd(uint32_t id);
/// A program's name (16 bytes) and the id of its first map (0 if none).
int cnl_bpf_prog_info(int fd, char *name, uint32_t *map_id);

/// Opens a TUN device (IFF_TUN | IFF_NO_PI: bare IP packets) named `name`
/// in the calling thread's namespace; the device goes with the descriptor.
int cnl_tun_open(const char *name);

#endif
