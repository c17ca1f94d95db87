#ifndef CPROCESS_H
#define CPROCESS_H
#include <sys/types.h>

/// Starts `path` with `argv` (NULL-terminated), standard input from
/// /dev/null and standard output and error on the given descriptors, in a
/// child that is sent SIGKILL when the calling thread ends (PR_SET_PDEATHSIG)
/// and that inherits no other descriptor and no blocked signal. Returns the
/// child's pid, or -errno.
pid_t cpr_spawn(const char *path, char *const argv[], int out_fd, int err_fd);

#endif
