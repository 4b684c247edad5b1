// See include/CContainers.h. Linux only; on other systems this file is empty and the
// Swift module reports "not supported on this platform" before calling anything here.
#ifdef __linux__
#define _GNU_SOURCE
#include "CContainers.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/xattr.h>
#include <linux/capability.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

const uint64_t vlab_CLONE_NEWNS = CLONE_NEWNS, vlab_CLONE_NEWPID = CLONE_NEWPID,
    vlab_CLONE_NEWUTS = CLONE_NEWUTS, vlab_CLONE_NEWIPC = CLONE_NEWIPC,
    vlab_CLONE_NEWNET = CLONE_NEWNET, vlab_CLONE_NEWCGROUP = CLONE_NEWCGROUP,
    vlab_CLONE_NEWUSER = CLONE_NEWUSER;
const unsigned long vlab_MS_RDONLY = MS_RDONLY, vlab_MS_NOSUID = MS_NOSUID,
    vlab_MS_NODEV = MS_NODEV, vlab_MS_NOEXEC = MS_NOEXEC, vlab_MS_REMOUNT = MS_REMOUNT,
    vlab_MS_BIND = MS_BIND, vlab_MS_REC = MS_REC, vlab_MS_PRIVATE = MS_PRIVATE,
    vlab_MS_SLAVE = MS_SLAVE, vlab_MS_STRICTATIME = MS_STRICTATIME,
    vlab_MS_RELATIME = MS_RELATIME, vlab_MS_NOATIME = MS_NOATIME;
const int vlab_MNT_DETACH = MNT_DETACH, vlab_O_PATH = O_PATH;

#define RETRY(expr)                                                                      \
    do {                                                                                 \
        long r_;                                                                         \
        do { r_ = (long)(expr); } while (r_ < 0 && errno == EINTR);                      \
        return r_ < 0 ? -errno : (int)r_;                                                \
    } while (0)

// The child side of clone/fork: only async-signal-safe calls from here to execve.
static void child_exec(const char *path, char *const argv[], char *const envp[],
                       const int *fd_from, const int *fd_to, int fd_count) {
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
    // Two phases so a target number that is also a source number is not clobbered.
    int moved[16];
    if (fd_count > 16) _exit(126);
    for (int i = 0; i < fd_count; i++) {
        moved[i] = fcntl(fd_from[i], F_DUPFD_CLOEXEC, 64);
        if (moved[i] < 0) _exit(126);
    }
    for (int i = 0; i < fd_count; i++) {
        if (dup2(moved[i], fd_to[i]) < 0) _exit(126);
    }
    execve(path, argv, envp);
    _exit(127);
}

pid_t vlab_clone_exec(uint64_t flags, const char *path, char *const argv[], char *const envp[],
                      const int *fd_from, const int *fd_to, int fd_count, int *pidfd_out) {
    int pidfd = -1;
    // Raw clone with a NULL stack has fork semantics: the child runs on a copy of this
    // stack. CLONE_PIDFD hands back a descriptor that names exactly this child, so a
    // recycled pid can never be signalled or waited for by mistake.
    long pid = syscall(SYS_clone, (unsigned long)(flags | CLONE_PIDFD | SIGCHLD), NULL, &pidfd, NULL, NULL);
    if (pid < 0) return -errno;
    if (pid == 0) child_exec(path, argv, envp, fd_from, fd_to, fd_count);
    *pidfd_out = pidfd;
    return (pid_t)pid;
}

pid_t vlab_spawn(const char *path, char *const argv[], char *const envp[],
                 const int *fd_from, const int *fd_to, int fd_count, int *pidfd_out) {
    return vlab_clone_exec(0, path, argv, envp, fd_from, fd_to, fd_count, pidfd_out);
}

int vlab_wait_pidfd(int pidfd, int nohang, int *code, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do {
        r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | (nohang ? WNOHANG : 0));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    if (info.si_pid == 0) return 1;
    *code = info.si_code;
    *status = info.si_status;
    return 0;
}

int vlab_pidfd_send_signal(int pidfd, int sig) {
    RETRY(syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0));
}

int vlab_mount(const char *source, const char *target, const char *fstype,
               unsigned long flags, const char *data) {
    RETRY(mount(source, target, fstype, flags, data));
}
int vlab_umount2(const char *target, int flags) { RETRY(umount2(target, flags)); }
int vlab_pivot_root(const char *new_root, const char *put_old) {
    RETRY(syscall(SYS_pivot_root, new_root, put_old));
}
int vlab_chroot(const char *path) { RETRY(chroot(path)); }
int vlab_unshare(uint64_t flags) { RETRY(unshare((int)flags)); }
int vlab_sethostname(const char *name, size_t length) { RETRY(sethostname(name, length)); }
int vlab_mknod(const char *path, mode_t mode, unsigned int major, unsigned int minor) {
    RETRY(mknod(path, mode, makedev(major, minor)));
}
int vlab_close_range(unsigned int first, unsigned int last, int cloexec) {
    RETRY(syscall(SYS_close_range, first, last, cloexec ? CLOSE_RANGE_CLOEXEC : 0));
}

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
// struct mount_attr from linux/mount.h, spelled out for older headers.
struct vlab_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};
int vlab_make_readonly_recursive(const char *path) {
    struct vlab_mount_attr attr = {0x00000001 /* MOUNT_ATTR_RDONLY */, 0, 0, 0};
    RETRY(syscall(SYS_mount_setattr, AT_FDCWD, path, 0x8000 /* AT_RECURSIVE */, &attr, sizeof attr));
}

int vlab_capbset_drop(int cap) { RETRY(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)); }

int vlab_capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)effective;
    data[1].effective = (uint32_t)(effective >> 32);
    data[0].permitted = (uint32_t)permitted;
    data[1].permitted = (uint32_t)(permitted >> 32);
    data[0].inheritable = (uint32_t)inheritable;
    data[1].inheritable = (uint32_t)(inheritable >> 32);
    RETRY(syscall(SYS_capset, &header, data));
}

int vlab_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    long r;
    do { r = syscall(SYS_capget, &header, data); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    *effective = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
    *permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
    *inheritable = (uint64_t)data[0].inheritable | ((uint64_t)data[1].inheritable << 32);
    return 0;
}

int vlab_clear_ambient_caps(void) { RETRY(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)); }
int vlab_set_no_new_privs(void) { RETRY(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)); }
int vlab_set_parent_death_signal(int sig) { RETRY(prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)); }

int vlab_setrlimit(int resource, uint64_t soft, uint64_t hard) {
    struct rlimit limit = {(rlim_t)soft, (rlim_t)hard};
    RETRY(setrlimit((__rlimit_resource_t)resource, &limit));
}

int vlab_rlimit_number(const char *name) {
    static const struct { const char *name; int number; } table[] = {
        {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
        {"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
        {"RLIMIT_RSS", RLIMIT_RSS}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_STACK", RLIMIT_STACK},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].name, name) == 0) return table[i].number;
    }
    return -1;
}

int vlab_loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    int r = ioctl(fd, SIOCGIFFLAGS, &request);
    if (r == 0) {
        request.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ioctl(fd, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(fd);
    return r < 0 ? -saved : 0;
}

int vlab_pipe(int fds[2]) { RETRY(pipe2(fds, O_CLOEXEC)); }
int vlab_pidfd_open(pid_t pid) { RETRY(syscall(SYS_pidfd_open, pid, 0)); }

int vlab_is_tmpfs(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 && info.f_type == 0x01021994 /* TMPFS_MAGIC */ ? 1 : 0;
}

int vlab_is_directory(const char *path) {
    struct stat info;
    return stat(path, &info) == 0 && S_ISDIR(info.st_mode) ? 1 : 0;
}

static const char opaque_name[] = "trusted.overlay.opaque";
int vlab_is_opaque(const char *path) {
    char value[2] = {0, 0};
    ssize_t n = lgetxattr(path, opaque_name, value, sizeof value);
    return n == 1 && value[0] == 'y' ? 1 : 0;
}
int vlab_set_opaque(const char *path) { RETRY(lsetxattr(path, opaque_name, "y", 1, 0)); }
int vlab_remove_opaque(const char *path) { RETRY(lremovexattr(path, opaque_name)); }

int vlab_ptrace_seize(pid_t pid) { RETRY(ptrace(PTRACE_SEIZE, pid, NULL, NULL)); }

static void fill_set(sigset_t *set, const int *signals) {
    sigemptyset(set);
    for (int i = 0; signals[i] != 0; i++) sigaddset(set, signals[i]);
}

int vlab_signalfd(const int *signals) {
    sigset_t set;
    fill_set(&set, signals);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -EINVAL;
    RETRY(signalfd(-1, &set, SFD_CLOEXEC));
}

int vlab_unblock_signals(const int *signals) {
    sigset_t set;
    fill_set(&set, signals);
    int r = pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return r == 0 ? 0 : -r;
}

int vlab_read_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t n;
    do { n = read(fd, &info, sizeof info); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n != (ssize_t)sizeof info) return -EIO;
    return (int)info.ssi_signo;
}

int vlab_poll_readable(const int *fds, int count, int timeout_ms) {
    struct pollfd entries[8];
    if (count > 8 || count < 0) return -EINVAL;
    for (int i = 0; i < count; i++) {
        entries[i].fd = fds[i];
        entries[i].events = POLLIN;
        entries[i].revents = 0;
    }
    int r;
    do { r = poll(entries, (nfds_t)count, timeout_ms); } while (r < 0 && errno == EINTR);
    if (r < 0) return -errno;
    int mask = 0;
    for (int i = 0; i < count; i++) {
        if (entries[i].revents != 0) mask |= 1 << i;
    }
    return mask;
}
#endif
