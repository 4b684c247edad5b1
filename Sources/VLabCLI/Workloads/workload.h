/* What every benchmark workload shares: the two Linux system calls it makes (write and
 * exit_group, RV32 numbering: number in a7, arguments in a0.., result in a0) and the contract
 * with runtime.c.
 *
 * A workload is a function of one number, its round count: `run_workload(rounds)` does `rounds`
 * equal slices of work and returns a checksum of everything it computed. The program takes the
 * round count as its only argument (default `default_rounds`, sized for about 3e8 instructions),
 * so a test can run a tiny version of the very same code, and prints one line:
 *     <name> rounds=<rounds> checksum=0x<8 hex digits>
 * The checksum depends on every round, so no compiler can fold the work away and a wrong answer
 * from an emulator shows up as a different line. */
#ifndef VLAB_WORKLOAD_H
#define VLAB_WORKLOAD_H

typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;
typedef __SIZE_TYPE__ size_t;

#define SYS_write 64
#define SYS_exit_group 94

static inline long syscall3(long n, long a, long b, long c) {
    register long a0 asm("a0") = a;
    register long a1 asm("a1") = b;
    register long a2 asm("a2") = c;
    register long a7 asm("a7") = n;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static inline long sys_write(int fd, const void *buffer, unsigned long count) {
    return syscall3(SYS_write, fd, (long)buffer, (long)count);
}

__attribute__((noreturn)) static inline void sys_exit_group(int status) {
    syscall3(SYS_exit_group, status, 0, 0);
    __builtin_unreachable();
}

/* Defined by each workload. */
extern const char workload_name[];
extern const u32 default_rounds;
u32 run_workload(u32 rounds);

/* runtime.c: what -nostdlib leaves out and the compiler may still call. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif
