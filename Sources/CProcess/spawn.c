#define _GNU_SOURCE
#include "CProcess.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t cpr_spawn(const char *path, char *const argv[], int out_fd, int err_fd) {
    pid_t parent = getpid();
    int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(in_fd);
        return -e;
    }
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(126);
        // The parent may have died before the line above took effect.
        if (getppid() != parent) _exit(126);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
        syscall(SYS_close_range, 3, ~0U, 0);
        execv(path, argv);
        _exit(127);
    }
    close(in_fd);
    return pid;
}
