#define _GNU_SOURCE
#include <sched.h>
#include "CNetlink.h"

int cnl_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// tcx (kernel 6.6) is newer than the headers Debian 12 ships.
#define CNL_BPF_TCX_INGRESS 46

static int cnl_bpf(int cmd, union bpf_attr *a) { return (int)syscall(__NR_bpf, cmd, a, sizeof(*a)); }

int cnl_bpf_prog_load(uint32_t type, const struct bpf_insn *insns, uint32_t count, const char *name,
                      char *log, uint32_t log_size) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = type;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = count;
    a.license = (uint64_t)(uintptr_t)"GPL";
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = log_size;
    a.log_level = log_size > 0 ? 1 : 0;
    strncpy(a.prog_name, name, sizeof a.prog_name - 1);
    return cnl_bpf(BPF_PROG_LOAD, &a);
}

int cnl_bpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags,
                       const char *name) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = type;
    a.key_size = key_size;
    a.value_size = value_size;
    a.max_entries = max_entries;
    a.map_flags = flags;
    strncpy(a.map_name, name, sizeof a.map_name - 1);
    return cnl_bpf(BPF_MAP_CREATE, &a);
}

static int cnl_bpf_elem(int cmd, int fd, const void *key, const void *value, uint64_t flags) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = fd;
    a.key = (uint64_t)(uintptr_t)key;
    a.value = (uint64_t)(uintptr_t)value;
    a.flags = flags;
    return cnl_bpf(cmd, &a);
}

int cnl_bpf_map_update(int fd, const void *key, const void *value) { return cnl_bpf_elem(BPF_MAP_UPDATE_ELEM, fd, key, value, BPF_ANY); }
int cnl_bpf_map_delete(int fd, const void *key) { return cnl_bpf_elem(BPF_MAP_DELETE_ELEM, fd, key, NULL, 0); }
int cnl_bpf_map_lookup(int fd, const void *key, void *value) { return cnl_bpf_elem(BPF_MAP_LOOKUP_ELEM, fd, key, value, 0); }
int cnl_bpf_map_next_key(int fd, const void *key, void *next) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = fd;
    a.key = (uint64_t)(uintptr_t)key;
    a.next_key = (uint64_t)(uintptr_t)next;
    return cnl_bpf(BPF_MAP_GET_NEXT_KEY, &a);
}

int cnl_bpf_tcx_attach(int prog_fd, int ifindex) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.target_fd = ifindex;  // target_ifindex in newer headers
    a.attach_bpf_fd = prog_fd;
    a.attach_type = CNL_BPF_TCX_INGRESS;
    return cnl_bpf(BPF_PROG_ATTACH, &a);
}

int cnl_bpf_tcx_query(int ifindex, uint32_t *ids, uint32_t capacity) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.query.target_fd = ifindex;
    a.query.attach_type = CNL_BPF_TCX_INGRESS;
    a.query.prog_ids = (uint64_t)(uintptr_t)ids;
    a.query.prog_cnt = capacity;
    if (cnl_bpf(BPF_PROG_QUERY, &a) < 0) return -1;
    return (int)a.query.prog_cnt;
}

int cnl_bpf_prog_fd(uint32_t id) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_id = id;
    return cnl_bpf(BPF_PROG_GET_FD_BY_ID, &a);
}

int cnl_bpf_map_fd(uint32_t id) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_id = id;
    return cnl_bpf(BPF_MAP_GET_FD_BY_ID, &a);
}

int cnl_bpf_prog_info(int fd, char *name, uint32_t *map_id) {
    struct bpf_prog_info info;
    uint32_t ids[1] = {0};
    memset(&info, 0, sizeof info);
    info.nr_map_ids = 1;
    info.map_ids = (uint64_t)(uintptr_t)ids;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.info.bpf_fd = fd;
    a.info.info_len = sizeof info;
    a.info.info = (uint64_t)(uintptr_t)&info;
    if (cnl_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) < 0) return -1;
    memcpy(name, info.name, 16);
    *map_id = info.nr_map_ids > 0 ? ids[0] : 0;
    return 0;
}

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

int cnl_tun_open(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    struct ifreq r;
    memset(&r, 0, sizeof r);
    r.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(r.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &r) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
