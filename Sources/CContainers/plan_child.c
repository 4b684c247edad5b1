// The container child without an init executable: see vlab_clone_plan in
// include/CContainers.h. The parent (Swift) decides everything: which mounts, in which
// order, on which condition, with which error message. This file only carries out that list
// of system calls in the cloned child, the way crun does its setup in C between clone and
// execve. Everything here is async-signal-safe (the parent may have other threads, and the
// child is a copy of it with one): system calls, stack buffers, no malloc, no stdio.
#ifdef __linux__
#define _GNU_SOURCE
#include "CContainers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

// A status line built on the stack: "failed <errno> <message>\n".
struct line {
    char text[4096];
    size_t length;
};

static void append(struct line *line, const char *text) {
    while (text && *text && line->length < sizeof line->text - 2) line->text[line->length++] = *text++;
}

static void append_number(struct line *line, long value) {
    char digits[24];
    int count = 0;
    if (value < 0) {
        append(line, "-");
        value = -value;
    }
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && count < (int)sizeof digits);
    while (count > 0) {
        char one[2] = {digits[--count], 0};
        append(line, one);
    }
}

static void send_line(int fd, struct line *line) {
    line->text[line->length++] = '\n';
    size_t done = 0;
    while (done < line->length) {
        ssize_t n = write(fd, line->text + done, line->length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += (size_t)n;
    }
}

// Reports a failed step and ends the child: the parent turns the line into a ContainerError.
static void fail(int status_fd, int code, const char *message, const char *detail, const char *tail) {
    struct line line = {.length = 0};
    append(&line, "failed ");
    append_number(&line, code);
    append(&line, " ");
    append(&line, message);
    append(&line, detail);
    append(&line, tail);
    send_line(status_fd, &line);
    _exit(126);
}

static int holds(const struct vlab_plan_step *step) {
    struct stat info;
    switch (step->condition) {
    case VLAB_IF_ALWAYS: return 1;
    case VLAB_IF_EXISTS: return lstat(step->path, &info) == 0;
    case VLAB_IF_MISSING: return lstat(step->path, &info) != 0;
    case VLAB_IF_DIRECTORY: return stat(step->path, &info) == 0 && S_ISDIR(info.st_mode);
    case VLAB_IF_NOT_DIRECTORY:
        return lstat(step->path, &info) == 0 && !(stat(step->path, &info) == 0 && S_ISDIR(info.st_mode));
    }
    return 0;
}

// mkdir -p in a stack copy of the path.
static int make_directories(const char *path) {
    char buffer[PATH_MAX];
    size_t length = strlen(path);
    if (length >= sizeof buffer) return -ENAMETOOLONG;
    memcpy(buffer, path, length + 1);
    for (size_t i = 1; i <= length; i++) {
        if (buffer[i] != '/' && buffer[i] != 0) continue;
        char saved = buffer[i];
        buffer[i] = 0;
        if (mkdir(buffer, 0755) != 0 && errno != EEXIST) return -errno;
        buffer[i] = saved;
    }
    return 0;
}

#define CHECK(expr) \
    do { if ((expr) < 0) return -errno; } while (0)

struct vlab_mount_attr_rdonly {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

// One step; 0 or -errno.
static int perform(const struct vlab_plan_step *step) {
    switch (step->kind) {
    case VLAB_STEP_MOUNT:
        if (mount(step->a, step->b, step->c, step->flags, step->d) == 0) return 0;
        // The one fallback: an option this kernel does not know (overlayfs `volatile`).
        if (errno == EINVAL && step->e) {
            CHECK(mount(step->a, step->b, step->c, step->flags, step->e));
            return 0;
        }
        return -errno;
    case VLAB_STEP_READONLY_TREE: {
        struct vlab_mount_attr_rdonly attr = {0x00000001 /* MOUNT_ATTR_RDONLY */, 0, 0, 0};
        CHECK(syscall(SYS_mount_setattr, AT_FDCWD, step->a, 0x8000 /* AT_RECURSIVE */, &attr, sizeof attr));
        return 0;
    }
    case VLAB_STEP_MAKE_DIRECTORIES:
        return make_directories(step->a);
    case VLAB_STEP_MAKE_FILE: {
        int fd = open(step->a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd);
        close(fd);
        return 0;
    }
    case VLAB_STEP_SYMLINK:
        (void)symlink(step->a, step->b);  // a convenience link; its absence is not an error
        return 0;
    case VLAB_STEP_UNSHARE:
        CHECK(unshare((int)step->number));
        return 0;
    case VLAB_STEP_SET_HOSTNAME:
        CHECK(sethostname(step->a, strlen(step->a)));
        return 0;
    case VLAB_STEP_LOOPBACK_UP:
        return vlab_loopback_up();
    case VLAB_STEP_PIVOT_ROOT:
        // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves
        // nothing in the container's mount table that leads back to the host.
        CHECK(chdir(step->a));
        CHECK(syscall(SYS_pivot_root, ".", "."));
        CHECK(umount2(".", MNT_DETACH));
        CHECK(chdir("/"));
        return 0;
    case VLAB_STEP_SET_RLIMIT: {
        struct rlimit limit = {(rlim_t)step->number2, (rlim_t)step->number3};
        CHECK(setrlimit((__rlimit_resource_t)step->number, &limit));
        return 0;
    }
    case VLAB_STEP_DROP_BOUNDING:
        for (uint64_t cap = 0; cap <= step->number2 && cap < 64; cap++) {
            if (!(step->number & (1ULL << cap))) CHECK(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
        }
        return 0;
    case VLAB_STEP_CLEAR_AMBIENT:
        return vlab_clear_ambient_caps();
    case VLAB_STEP_SET_GID:
        CHECK(syscall(SYS_setgroups, 0, NULL));
        CHECK(syscall(SYS_setgid, (gid_t)step->number));
        return 0;
    case VLAB_STEP_SET_UID:
        // The raw system call: glibc's setuid would signal the parent's other (absent) threads.
        CHECK(syscall(SYS_setuid, (uid_t)step->number));
        return 0;
    case VLAB_STEP_SET_CAPABILITIES:
        return vlab_capset(step->number, step->number, step->number);
    case VLAB_STEP_NO_NEW_PRIVILEGES:
        return vlab_set_no_new_privs();
    case VLAB_STEP_CHDIR:
        CHECK(chdir(step->a));
        return 0;
    case VLAB_STEP_WAIT_FOR_GO:
        return 0;  // handled by the caller, which owns the descriptor
    }
    return -EINVAL;
}

// PATH search the way the Swift init does it: the first executable candidate.
static void exec_command(const struct vlab_plan *plan, int status_fd) {
    const char *command = plan->argv[0];
    if (strchr(command, '/')) {
        if (access(command, X_OK) != 0) fail(status_fd, errno, plan->not_executable_message, NULL, NULL);
        execve(command, plan->argv, plan->envp);
        fail(status_fd, errno, "cannot execute '", command, "' in the container");
    }
    char candidate[PATH_MAX];
    const char *directory = plan->search_path;
    while (directory && *directory) {
        const char *end = strchr(directory, ':');
        size_t length = end ? (size_t)(end - directory) : strlen(directory);
        if (length > 0 && length + 1 + strlen(command) < sizeof candidate) {
            memcpy(candidate, directory, length);
            candidate[length] = '/';
            strcpy(candidate + length + 1, command);
            if (access(candidate, X_OK) == 0) {
                execve(candidate, plan->argv, plan->envp);
                fail(status_fd, errno, "cannot execute '", candidate, "' in the container");
            }
        }
        directory = end ? end + 1 : NULL;
    }
    fail(status_fd, 0, plan->not_found_message, NULL, NULL);
}

static void child(const struct vlab_plan *plan, const int *fd_from, const int *fd_to, int fd_count) {
    sigset_t none;
    sigemptyset(&none);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    }
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int moved[16];
    if (fd_count > 16) _exit(126);
    for (int i = 0; i < fd_count; i++) {
        moved[i] = fcntl(fd_from[i], F_DUPFD_CLOEXEC, 64);
        if (moved[i] < 0) _exit(126);
    }
    for (int i = 0; i < fd_count; i++) {
        if (dup2(moved[i], fd_to[i]) < 0) _exit(126);
        // stdio stays open across the command's execve; the go and status pipes do not.
        if (fd_to[i] > 2) fcntl(fd_to[i], F_SETFD, FD_CLOEXEC);
    }
    for (int i = 0; i < plan->step_count; i++) {
        const struct vlab_plan_step *step = &plan->steps[i];
        if (step->kind == VLAB_STEP_WAIT_FOR_GO) {
            // The parent has moved this process into its control groups. End of file means
            // it gave up: nothing more to do.
            char go = 0;
            ssize_t n;
            do { n = read(plan->go_fd, &go, 1); } while (n < 0 && errno == EINTR);
            if (n != 1) _exit(1);
            close(plan->go_fd);
            continue;
        }
        if (!holds(step)) continue;
        int r = perform(step);
        if (r < 0) fail(plan->status_fd, -r, step->what, NULL, NULL);
    }
    // Close every inherited descriptor but stdio and the status pipe (close-on-exec).
    if (plan->close_descriptors) {
        int status = plan->status_fd;
        if (status > 3) syscall(SYS_close_range, 3, status - 1, 0);
        syscall(SYS_close_range, status + 1, ~0U, 0);
    }
    exec_command(plan, plan->status_fd);
}

pid_t vlab_clone_plan(uint64_t flags, const struct vlab_plan *plan, const int *fd_from, const int *fd_to,
                      int fd_count, int *pidfd_out) {
    int pidfd = -1;
    long pid = syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), NULL, &pidfd, NULL, NULL);
    if (pid < 0) return -errno;
    if (pid == 0) child(plan, fd_from, fd_to, fd_count);
    *pidfd_out = pidfd;
    return (pid_t)pid;
}
#endif
