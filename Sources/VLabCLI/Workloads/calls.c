/* Call-heavy: many small functions, called and returning all the time, so the cost of jal/jalr
 * and of the prologue and epilogue stack traffic dominates. Each round computes a recursive
 * Fibonacci number, Takeuchi's function and a small Ackermann value, and folds an array
 * through small functions called via a table of function pointers. Everything is noinline so
 * the compiler keeps the calls. */
#include "workload.h"

const char workload_name[] = "calls";
const u32 default_rounds = 153;

__attribute__((noinline)) static u32 fibonacci(u32 n) {
    return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

__attribute__((noinline)) static i32 takeuchi(i32 x, i32 y, i32 z) {
    if (y >= x) return z;
    return takeuchi(takeuchi(x - 1, y, z), takeuchi(y - 1, z, x), takeuchi(z - 1, x, y));
}

__attribute__((noinline)) static u32 ackermann(u32 m, u32 n) {
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

__attribute__((noinline)) static u32 add_step(u32 x, u32 y) { return x + y; }
__attribute__((noinline)) static u32 xor_step(u32 x, u32 y) { return x ^ (y << 1); }
__attribute__((noinline)) static u32 rotate_step(u32 x, u32 y) { return (x << 5 | x >> 27) + y; }
__attribute__((noinline)) static u32 subtract_step(u32 x, u32 y) { return x - y * 3; }
static u32 (*const steps[4])(u32, u32) = {add_step, xor_step, rotate_step, subtract_step};

u32 run_workload(u32 rounds) {
    u32 checksum = 0;
    for (u32 round = 0; round < rounds; round++) {
        checksum += fibonacci(16 + round % 4);
        checksum ^= (u32)takeuchi(12 + (i32)(round % 3), 6, 0);
        checksum += ackermann(2, 30 + round % 8);
        for (u32 i = 0; i < 2048; i++) checksum = steps[(checksum ^ i) & 3](checksum, i);
    }
    return checksum;
}
