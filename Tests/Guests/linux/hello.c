/* The smallest useful process: one write to stdout, one writev, exit 0. */
#include "linux.h"

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)argc, (void)argv, (void)envp, (void)auxv;
    static const char greeting[] = "Hello from RV32 user mode!\n";
    sys_write(1, greeting, sizeof greeting - 1);
    struct iovec parts[3] = {{"gathered ", 9}, {"by ", 3}, {"writev\n", 7}};
    long written = sys_writev(1, parts, 3);
    put_string(1, "writev wrote ");
    put_decimal(1, written);
    put_string(1, " bytes\n");
    return 0;
}
