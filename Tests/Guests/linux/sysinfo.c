/* uname, getpid, set_tid_address and the clocks. Prints only what is the same on every Linux
 * (real, qemu-riscv32, vlab): names, relations between values, error codes. */
#include "linux.h"

static void say(const char *what, int yes) {
    put_string(1, what);
    put_string(1, yes ? ": yes\n" : ": no\n");
}

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)argc, (void)argv, (void)envp, (void)auxv;
    struct utsname name;
    memset(&name, 0x55, sizeof name);
    put_string(1, "uname=");
    put_decimal(1, sys_uname(&name));
    put_string(1, "\nsysname=");
    put_string(1, name.sysname);
    put_string(1, "\nmachine=");
    put_string(1, name.machine);
    put_char(1, '\n');
    int terminated = 0;
    for (int i = 0; i < 65; i++)
        if (name.release[i] == 0) terminated = 1;
    say("release is a terminated string", terminated && name.release[0] != 0);

    long pid = sys_getpid();
    say("pid is positive", pid > 0);
    static int tid_word;
    say("set_tid_address returns the pid (one thread)", sys_set_tid_address(&tid_word) == pid);

    struct timespec64 a, b, wall;
    long r1 = sys_clock_gettime64(1, &a);  /* CLOCK_MONOTONIC */
    volatile u32 spin = 0;
    for (int i = 0; i < 100000; i++) spin += (u32)i;
    long r2 = sys_clock_gettime64(1, &b);
    say("monotonic clock works", r1 == 0 && r2 == 0);
    say("monotonic clock moves forward",
        b.seconds > a.seconds || (b.seconds == a.seconds && b.nanoseconds > a.nanoseconds));
    say("nanoseconds in range", a.nanoseconds >= 0 && a.nanoseconds < 1000000000);
    say("realtime is after 2020", sys_clock_gettime64(0, &wall) == 0 && wall.seconds > 1577836800);
    put_string(1, "bad clock=");
    put_decimal(1, sys_clock_gettime64(99, &wall));
    put_string(1, "\n32-bit clock_gettime (not on rv32)=");
    put_decimal(1, syscall2(SYS_clock_gettime32, 1, &a));
    put_string(1, "\nunknown syscall 999=");
    put_decimal(1, syscall0(999));
    put_char(1, '\n');
    return 0;
}
