#define _GNU_SOURCE
#include <sched.h>
#include "CNetlink.h"

int cnl_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }
