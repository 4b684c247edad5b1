/* Writes to stderr and exits with the status given as argv[1]; argv[2] "thread" uses exit
 * (the thread's exit) instead of exit_group: for a one-thread process both end it. */
#include "linux.h"

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)envp, (void)auxv;
    int status = argc > 1 ? (int)parse_decimal(argv[1]) : 0;
    put_string(2, "status: exiting with ");
    put_decimal(2, status);
    put_char(2, '\n');
    put_string(1, "to stdout\n");
    if (argc > 2 && strcmp(argv[2], "thread") == 0) sys_exit(status);
    return status;
}
