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

/// setns(2) for a network namespace: glibc declares setns only with
/// _GNU_SOURCE, which Swift's Glibc module does not set.
int cnl_setns_net(int fd);

#endif
