// CContainers: the few Linux system calls the Containers module cannot make safely
// (or at all) from Swift. Every function is a thin wrapper: it retries on EINTR and
// returns 0 (or a non-negative result) on success and -errno on failure, so the Swift
// side turns failures into a typed error in one place (Sources/Containers/Linux/Kernel.swift).
//
// The one function that does more is vlab_clone_exec: the child of a clone must not
// run Swift code (the Swift runtime is not fork-safe), so the child side of the clone
// is written here in C and does only async-signal-safe work before execve.
#ifndef VLAB_CCONTAINERS_H
#define VLAB_CCONTAINERS_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Clone flags, re-exported as plain integers because Swift cannot import the macros
/// on every libc.
extern const uint64_t vlab_CLONE_NEWNS, vlab_CLONE_NEWPID, vlab_CLONE_NEWUTS,
    vlab_CLONE_NEWIPC, vlab_CLONE_NEWNET, vlab_CLONE_NEWCGROUP, vlab_CLONE_NEWUSER;
extern const unsigned long vlab_MS_RDONLY, vlab_MS_NOSUID, vlab_MS_NODEV, vlab_MS_NOEXEC,
    vlab_MS_REMOUNT, vlab_MS_BIND, vlab_MS_REC, vlab_MS_PRIVATE, vlab_MS_SLAVE,
    vlab_MS_STRICTATIME, vlab_MS_RELATIME, vlab_MS_NOATIME;
extern const int vlab_MNT_DETACH, vlab_O_PATH;

/// Clones a child with `flags` (CLONE_NEW* namespaces) and fork semantics, and makes
/// the child execve `path`. Before execve the child: unblocks every signal and resets
/// every disposition to default, asks for SIGKILL when the parent dies, and moves each
/// `fd_from[i]` to `fd_to[i]` (without close-on-exec). All other descriptors are expected
/// to be close-on-exec already. Returns the child's pid (as seen by the parent) and
/// stores a pidfd for it in `*pidfd_out`, or returns -errno. If execve fails the child
/// exits with status 127.
pid_t vlab_clone_exec(uint64_t flags, const char *path, char *const argv[], char *const envp[],
                      const int *fd_from, const int *fd_to, int fd_count, int *pidfd_out);

/// fork + execve for a plain host helper process (no namespaces); same child-side
/// rules as vlab_clone_exec. Returns the pid or -errno.
pid_t vlab_spawn(const char *path, char *const argv[], char *const envp[],
                 const int *fd_from, const int *fd_to, int fd_count, int *pidfd_out);

/// waitid(P_PIDFD, ...): returns 0 and fills *code (CLD_EXITED, CLD_KILLED, CLD_DUMPED)
/// and *status (exit status or signal), or -errno. With `nohang`, returns 1 if the
/// process is still running.
int vlab_wait_pidfd(int pidfd, int nohang, int *code, int *status);
int vlab_pidfd_send_signal(int pidfd, int sig);

int vlab_mount(const char *source, const char *target, const char *fstype,
               unsigned long flags, const char *data);
int vlab_umount2(const char *target, int flags);
int vlab_pivot_root(const char *new_root, const char *put_old);
int vlab_chroot(const char *path);
int vlab_unshare(uint64_t flags);
int vlab_sethostname(const char *name, size_t length);
int vlab_mknod(const char *path, mode_t mode, unsigned int major, unsigned int minor);
int vlab_close_range(unsigned int first, unsigned int last, int cloexec);
/// mount_setattr(2) with AT_RECURSIVE and MOUNT_ATTR_RDONLY: `path` and every mount below it
/// become read-only in one call (a bind remount changes only the top mount). Linux 5.12+.
int vlab_make_readonly_recursive(const char *path);

/// Capabilities: drop `cap` from the bounding set; set the three capability sets of
/// this thread to the given 64-bit masks; clear the ambient set.
int vlab_capbset_drop(int cap);
int vlab_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);
int vlab_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable);
int vlab_clear_ambient_caps(void);
int vlab_set_no_new_privs(void);
int vlab_set_parent_death_signal(int sig);
int vlab_setrlimit(int resource, uint64_t soft, uint64_t hard);
/// Resource numbers by name ("RLIMIT_NOFILE" ...), -1 when unknown.
int vlab_rlimit_number(const char *name);

/// Brings the loopback interface of the current network namespace up.
int vlab_loopback_up(void);
/// PTRACE_SEIZE of `pid` (used only by the escape tests: seizing does not stop the
/// target); the tracee is detached when the tracer exits.
int vlab_ptrace_seize(pid_t pid);

/// Blocks `signals` (a 0-terminated list) in the calling thread and returns a signalfd
/// that reads them, or -errno. vlab_read_signal returns the next signal number or -errno.
int vlab_signalfd(const int *signals);
int vlab_read_signal(int fd);
int vlab_unblock_signals(const int *signals);

/// poll() on up to 8 descriptors for readability; returns a bitmask of the ready ones,
/// 0 on timeout, or -errno. timeout_ms < 0 waits forever.
int vlab_poll_readable(const int *fds, int count, int timeout_ms);

/// pipe2(O_CLOEXEC) into fds[0] (read) and fds[1] (write).
int vlab_pipe(int fds[2]);
int vlab_pidfd_open(pid_t pid);
/// 1 if `path` is on a tmpfs (statfs f_type TMPFS_MAGIC), 0 if not or missing.
int vlab_is_tmpfs(const char *path);
/// 1 if `path` is a directory (following links), 0 if not or missing.
int vlab_is_directory(const char *path);
/// The overlayfs opaque-directory marker (xattr trusted.overlay.opaque = "y").
int vlab_is_opaque(const char *path);
int vlab_set_opaque(const char *path);
int vlab_remove_opaque(const char *path);

/// The container child without an init executable (plan_child.c). The parent plans the
/// child's whole setup as a list of steps; the child, cloned into the new namespaces, carries
/// the steps out in order (at VLAB_STEP_WAIT_FOR_GO it waits for one byte on `go_fd`, which
/// the parent sends once the child is in its control groups), closes every other descriptor,
/// looks the command up in `search_path` and execs it.
/// A step whose `condition` does not hold on `path` is skipped. On the first failure the
/// child writes "failed <errno> <what>\n" on `status_fd` (errno 0: no system call failed)
/// and exits with 126; a successful execve closes `status_fd` (close-on-exec).
enum vlab_plan_step_kind {
    VLAB_STEP_MOUNT = 1,          // mount(a, b, c, flags, d); on EINVAL with e set, again with data e
    VLAB_STEP_READONLY_TREE,      // a and every mount below it read-only (mount_setattr)
    VLAB_STEP_MAKE_DIRECTORIES,   // mkdir -p a
    VLAB_STEP_MAKE_FILE,          // an empty file a
    VLAB_STEP_SYMLINK,            // symlink a at b (a failure is ignored)
    VLAB_STEP_UNSHARE,            // unshare(number)
    VLAB_STEP_SET_HOSTNAME,       // a
    VLAB_STEP_LOOPBACK_UP,
    VLAB_STEP_PIVOT_ROOT,         // chdir a, pivot_root(".", "."), detach the old root, chdir /
    VLAB_STEP_SET_RLIMIT,         // resource number, soft number2, hard number3
    VLAB_STEP_DROP_BOUNDING,      // drop capabilities 0...number2 not in the mask number
    VLAB_STEP_CLEAR_AMBIENT,
    VLAB_STEP_SET_GID,            // setgroups(0) and setgid(number)
    VLAB_STEP_SET_UID,            // setuid(number)
    VLAB_STEP_SET_CAPABILITIES,   // effective = permitted = inheritable = number
    VLAB_STEP_NO_NEW_PRIVILEGES,
    VLAB_STEP_CHDIR,              // a
    VLAB_STEP_WAIT_FOR_GO,        // read one byte from go_fd (end of file: exit quietly)
};
enum vlab_plan_condition {
    VLAB_IF_ALWAYS = 0,
    VLAB_IF_EXISTS,               // lstat(path) succeeds
    VLAB_IF_MISSING,              // lstat(path) fails
    VLAB_IF_DIRECTORY,            // stat(path) is a directory
    VLAB_IF_NOT_DIRECTORY,        // exists, but is not (and does not lead to) a directory
};
struct vlab_plan_step {
    int kind;
    int condition;
    const char *path;
    const char *a, *b, *c, *d, *e;
    unsigned long flags;
    uint64_t number, number2, number3;
    /// The error message when the step fails.
    const char *what;
};
struct vlab_plan {
    const struct vlab_plan_step *steps;
    int step_count;
    int go_fd, status_fd;
    /// Close every descriptor but 0-2 and status_fd before execve.
    int close_descriptors;
    char *const *argv;
    char *const *envp;
    /// Directories searched for argv[0] when it has no '/'.
    const char *search_path;
    const char *not_found_message, *not_executable_message;
};
/// Clones a child into `flags` namespaces that runs `plan` (descriptors moved as in
/// vlab_clone_exec first). Returns its pid and a pidfd in *pidfd_out, or -errno.
pid_t vlab_clone_plan(uint64_t flags, const struct vlab_plan *plan, const int *fd_from, const int *fd_to,
                      int fd_count, int *pidfd_out);

#ifdef __cplusplus
}
#endif
#endif
