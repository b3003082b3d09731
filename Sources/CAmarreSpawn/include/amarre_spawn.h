#ifndef AMARRE_SPAWN_H
#define AMARRE_SPAWN_H

#include <sys/types.h>

/// A spawned agent: its pid (also its process group id), the parent's ends of its stdio
/// pipes (non-blocking, close-on-exec) and a pidfd that becomes readable when it exits
/// (-1 if the kernel has no pidfd_open).
typedef struct {
    pid_t pid;
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    int pidfd;
} amarre_child;

/// Forks and execs `path` with `argv` and `envp` in `cwd` (NULL: inherit).
///
/// The child runs in a new process group (its pid), has every signal disposition reset
/// to default and an empty signal mask, and gets SIGKILL when the thread that spawned it
/// exits (PR_SET_PDEATHSIG): call this from a thread that lives as long as the process.
/// Returns 0, or an errno value describing why the child could not start (exec or chdir
/// failed); in that case the child has been reaped and no descriptor is left open.
/// `failed_step` is set to "chdir", "exec", "dup2", "pipe" or "fork" on failure.
int amarre_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                 amarre_child *out, const char **failed_step);

/// Like `amarre_spawn`, but the child's stdin, stdout and stderr are the slave of a new
/// pseudo-terminal of `cols` x `rows`, which is its controlling terminal; the child leads a
/// session of its own (so its pid is also its process group). `out->stdin_fd` and
/// `out->stdout_fd` are two descriptors of the master (non-blocking, close-on-exec),
/// `out->stderr_fd` is -1, and `*control_fd` is a third one for `amarre_set_window_size`.
/// `failed_step` may also be "openpty".
int amarre_spawn_pty(const char *path, char *const argv[], char *const envp[], const char *cwd,
                     unsigned short cols, unsigned short rows, amarre_child *out, int *control_fd,
                     const char **failed_step);

/// Sets a terminal's size (TIOCSWINSZ; the kernel sends SIGWINCH to its foreground group).
/// Returns 0 or an errno value.
int amarre_set_window_size(int fd, unsigned short cols, unsigned short rows);

/// Non-blocking reap: 1 and the raw wait status if `pid` has exited, 0 if it runs, -1 on error.
int amarre_try_reap(pid_t pid, int *status);

/// WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG, which are macros Swift cannot call.
int amarre_exited(int status);
int amarre_exit_status(int status);
int amarre_signaled(int status);
int amarre_term_signal(int status);

#endif
