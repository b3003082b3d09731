#define _GNU_SOURCE
#include "amarre_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The host's other descriptors (listening sockets, client connections, epoll) must not reach
 * the agent: mark every descriptor above stderr close-on-exec. */
static void cloexec_above_stderr(void) {
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 3; fd < max; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void close_pair(int p[2]) {
    if (p[0] >= 0) close(p[0]);
    if (p[1] >= 0) close(p[1]);
}

/* Only async-signal-safe calls between fork and exec: the parent is multi-threaded. */
static void child_fail(int report_fd, int step, int err) {
    int msg[2] = {step, err};
    ssize_t ignored = write(report_fd, msg, sizeof msg);
    (void)ignored;
    _exit(127);
}

/* In the child, right after fork: dies with the host, every signal back to its default and
 * none blocked. `parent`: the host's pid before the fork. */
static void child_reset(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the host died before prctl took effect */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    }
}

/* In the parent: reads the child's report pipe (closed by a successful exec). Returns 0, or
 * reaps the child and returns the errno it reported, with `*step` the failed step's index. */
static int await_exec(pid_t pid, int report_fd, int *step) {
    int msg[2];
    ssize_t n;
    do { n = read(report_fd, msg, sizeof msg); } while (n < 0 && errno == EINTR);
    close(report_fd);
    if (n != (ssize_t)sizeof msg) return 0;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *step = msg[0];
    return msg[1];
}

int amarre_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                 amarre_child *out, const char **failed_step) {
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1}, report[2] = {-1, -1};
    static const char *steps[] = {"fork", "chdir", "exec", "dup2", "pipe"};
    *failed_step = NULL;
    if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) || pipe2(report, O_CLOEXEC)) {
        int err = errno;
        close_pair(in); close_pair(outp); close_pair(errp); close_pair(report);
        *failed_step = steps[4];
        return err;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close_pair(in); close_pair(outp); close_pair(errp); close_pair(report);
        *failed_step = steps[0];
        return err;
    }
    if (pid == 0) {
        setpgid(0, 0);
        child_reset(parent);
        if (dup2(in[0], 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0) child_fail(report[1], 3, errno);
        cloexec_above_stderr();
        if (cwd && chdir(cwd) != 0) child_fail(report[1], 1, errno);
        execve(path, argv, envp);
        child_fail(report[1], 2, errno);
    }
    close(in[0]); close(outp[1]); close(errp[1]); close(report[1]);
    int step = 0;
    int err = await_exec(pid, report[0], &step);
    if (err != 0) {
        close(in[1]); close(outp[0]); close(errp[0]);
        *failed_step = steps[step];
        return err;
    }
    /* Also covers the parent's own race: make sure the group exists before anyone signals it. */
    setpgid(pid, pid);
    out->pid = pid;
    out->stdin_fd = in[1];
    out->stdout_fd = outp[0];
    out->stderr_fd = errp[0];
    out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    return 0;
}

int amarre_spawn_pty(const char *path, char *const argv[], char *const envp[], const char *cwd,
                     unsigned short cols, unsigned short rows, amarre_child *out, int *control_fd,
                     const char **failed_step) {
    static const char *steps[] = {"fork", "chdir", "exec", "dup2", "pipe", "openpty"};
    int report[2] = {-1, -1};
    *failed_step = NULL;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    char name[128];
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, sizeof name) != 0) {
        int err = errno;
        if (master >= 0) close(master);
        *failed_step = steps[5];
        return err;
    }
    struct winsize size = {.ws_row = rows, .ws_col = cols};
    ioctl(master, TIOCSWINSZ, &size);
    int input = fcntl(master, F_DUPFD_CLOEXEC, 3);
    int control = fcntl(master, F_DUPFD_CLOEXEC, 3);
    if (input < 0 || control < 0 || pipe2(report, O_CLOEXEC) != 0) {
        int err = errno;
        close(master);
        if (input >= 0) close(input);
        if (control >= 0) close(control);
        close_pair(report);
        *failed_step = steps[4];
        return err;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(master); close(input); close(control); close_pair(report);
        *failed_step = steps[0];
        return err;
    }
    if (pid == 0) {
        /* A session of its own: its pid is also its process group, and the terminal below
         * becomes its controlling terminal (job control, ^C reaching the foreground job). */
        setsid();
        child_reset(parent);
        int slave = open(name, O_RDWR);
        if (slave < 0) child_fail(report[1], 3, errno);
        ioctl(slave, TIOCSCTTY, 0);
        if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) child_fail(report[1], 3, errno);
        if (slave > 2) close(slave);
        cloexec_above_stderr();
        if (cwd && chdir(cwd) != 0) child_fail(report[1], 1, errno);
        execve(path, argv, envp);
        child_fail(report[1], 2, errno);
    }
    close(report[1]);
    int step = 0;
    int err = await_exec(pid, report[0], &step);
    if (err != 0) {
        close(master); close(input); close(control);
        *failed_step = steps[step];
        return err;
    }
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    fcntl(input, F_SETFL, fcntl(input, F_GETFL) | O_NONBLOCK);
    out->pid = pid;
    out->stdin_fd = input;
    out->stdout_fd = master;
    out->stderr_fd = -1;
    out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    *control_fd = control;
    return 0;
}

int amarre_set_window_size(int fd, unsigned short cols, unsigned short rows) {
    struct winsize size = {.ws_row = rows, .ws_col = cols};
    return ioctl(fd, TIOCSWINSZ, &size) == 0 ? 0 : errno;
}

int amarre_try_reap(pid_t pid, int *status) {
    pid_t r;
    do { r = waitpid(pid, status, WNOHANG); } while (r < 0 && errno == EINTR);
    if (r == pid) return 1;
    return r == 0 ? 0 : -1;
}

int amarre_exited(int status) { return WIFEXITED(status); }
int amarre_exit_status(int status) { return WEXITSTATUS(status); }
int amarre_signaled(int status) { return WIFSIGNALED(status); }
int amarre_term_signal(int status) { return WTERMSIG(status); }
