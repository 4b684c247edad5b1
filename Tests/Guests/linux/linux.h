/* The Linux RV32 system-call ABI, by hand: number in a7, arguments in a0..a5, result in a0
 * (a negative errno on failure). These are the rv32 numbers (asm-generic with 64-bit time):
 * lseek is _llseek, fstat is fstat64, clock_gettime is clock_gettime64. */
#ifndef VLAB_LINUX_H
#define VLAB_LINUX_H

#define SYS_openat 56
#define SYS_close 57
#define SYS_llseek 62
#define SYS_read 63
#define SYS_write 64
#define SYS_writev 66
#define SYS_fstat64 80
#define SYS_exit 93
#define SYS_exit_group 94
#define SYS_set_tid_address 96
#define SYS_clock_gettime32 113
#define SYS_uname 160
#define SYS_getpid 172
#define SYS_brk 214
#define SYS_clock_gettime64 403

#define AT_FDCWD (-100)
#define O_RDONLY 0
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_APPEND 02000
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_ENTRY 9
#define AT_RANDOM 25

typedef unsigned int u32;
typedef unsigned long long u64;
typedef __SIZE_TYPE__ size_t;

static inline long syscall6(long n, long a, long b, long c, long d, long e, long f) {
    register long a0 asm("a0") = a;
    register long a1 asm("a1") = b;
    register long a2 asm("a2") = c;
    register long a3 asm("a3") = d;
    register long a4 asm("a4") = e;
    register long a5 asm("a5") = f;
    register long a7 asm("a7") = n;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7) : "memory");
    return a0;
}
#define syscall0(n) syscall6(n, 0, 0, 0, 0, 0, 0)
#define syscall1(n, a) syscall6(n, (long)(a), 0, 0, 0, 0, 0)
#define syscall2(n, a, b) syscall6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define syscall3(n, a, b, c) syscall6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define syscall4(n, a, b, c, d) syscall6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define syscall5(n, a, b, c, d, e) syscall6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

struct iovec { const void *base; unsigned long length; };
struct timespec64 { long long seconds; long nanoseconds; long padding; };
struct utsname { char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65]; };
/* asm-generic struct stat64, as rv32 Linux fills it. */
struct stat64 {
    u64 dev, ino;
    u32 mode, nlink, uid, gid;
    u64 rdev, pad1;
    long long size;
    int blksize, pad2;
    long long blocks;
    int atime; u32 atime_nsec;
    int mtime; u32 mtime_nsec;
    int ctime; u32 ctime_nsec;
    u32 unused4, unused5;
};

static inline long sys_read(int fd, void *buffer, unsigned long count) { return syscall3(SYS_read, fd, buffer, count); }
static inline long sys_write(int fd, const void *buffer, unsigned long count) { return syscall3(SYS_write, fd, buffer, count); }
static inline long sys_writev(int fd, const struct iovec *iov, int count) { return syscall3(SYS_writev, fd, iov, count); }
static inline long sys_openat(int dirfd, const char *path, int flags, int mode) { return syscall4(SYS_openat, dirfd, path, flags, mode); }
static inline long sys_close(int fd) { return syscall1(SYS_close, fd); }
static inline long sys_llseek(int fd, long long offset, long long *result, int whence) {
    return syscall5(SYS_llseek, fd, (long)(offset >> 32), (long)offset, result, whence);
}
static inline long sys_fstat64(int fd, struct stat64 *st) { return syscall2(SYS_fstat64, fd, st); }
static inline long sys_brk(void *address) { return syscall1(SYS_brk, address); }
static inline long sys_uname(struct utsname *name) { return syscall1(SYS_uname, name); }
static inline long sys_getpid(void) { return syscall0(SYS_getpid); }
static inline long sys_set_tid_address(int *address) { return syscall1(SYS_set_tid_address, address); }
static inline long sys_clock_gettime64(int clock, struct timespec64 *time) { return syscall2(SYS_clock_gettime64, clock, time); }
__attribute__((noreturn)) static inline void sys_exit_group(int status) {
    syscall1(SYS_exit_group, status);
    __builtin_unreachable();
}
__attribute__((noreturn)) static inline void sys_exit(int status) {
    syscall1(SYS_exit, status);
    __builtin_unreachable();
}

/* runtime.c: what the compiler may call, and a little formatted output. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
void put_string(int fd, const char *s);
void put_decimal(int fd, long long value);
void put_hex(int fd, u32 value);
void put_char(int fd, char c);
long long parse_decimal(const char *s);

/* Every program defines guest_main (not main: its arguments are not the two C allows); start_c (runtime.c) finds argc/argv/envp/auxv and exits with its result. */
int guest_main(int argc, char **argv, char **envp, u32 *auxv);

#endif
