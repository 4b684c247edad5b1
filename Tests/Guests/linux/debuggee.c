/* A program to debug: built with -g -O0 so gdb sees every local variable and line.
 * The gdb tests break in square(), look at `value` and `result`, step, and detach; the program
 * must then finish as if never stopped: it prints the sum and exits with status 30 % 256. */
#include "linux.h"

static int calls;

int square(int value) {
    int result = value * value;
    calls++;
    return result;
}

int sum_of_squares(int count) {
    int total = 0;
    for (int i = 1; i <= count; i++) {
        total += square(i);
    }
    return total;
}

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)argc, (void)argv, (void)envp, (void)auxv;
    int total = sum_of_squares(4);
    put_string(1, "sum of squares 1..4 = ");
    put_decimal(1, total);
    put_string(1, " in ");
    put_decimal(1, calls);
    put_string(1, " calls\n");
    return total;
}
