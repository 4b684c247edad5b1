/* Branch-heavy: branches whose direction depends on the data. Each round sorts 1024
 * pseudo-random numbers with a quicksort (comparisons against a pivot go either way at random),
 * checks the order, and runs a small bytecode interpreter (a dispatch switch per instruction,
 * an indirect jump through the compiler's jump table) that computes Collatz sequence lengths,
 * whose odd/even branch is as irregular as the numbers. */
#include "workload.h"

const char workload_name[] = "branch";
const u32 default_rounds = 490;

#define COUNT 1024
static u32 numbers[COUNT];

static void quicksort(u32 *a, int low, int high) {
    while (low < high) {
        u32 pivot = a[low + (high - low) / 2];
        int i = low, j = high;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                u32 t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++, j--;
            }
        }
        /* Recurse into the smaller side, loop on the larger: the stack stays shallow. */
        if (j - low < high - i) {
            quicksort(a, low, j);
            low = i;
        } else {
            quicksort(a, i, high);
            high = j;
        }
    }
}

/* The interpreter's instruction set: a register machine with four registers. */
enum { OP_SET, OP_ADD, OP_HALVE, OP_TRIPLE_PLUS_ONE, OP_JUMP_IF_ONE, OP_JUMP_IF_EVEN, OP_JUMP, OP_HALT };
struct op { unsigned char code, reg, arg; };

/* r0 = n (input), r1 = steps. while r0 != 1: if even r0 /= 2 else r0 = 3*r0+1; r1++ */
static const struct op collatz[] = {
    {OP_SET, 1, 0},              /* 0: steps = 0 */
    {OP_JUMP_IF_ONE, 0, 8},      /* 1: done when n == 1 */
    {OP_JUMP_IF_EVEN, 0, 5},     /* 2 */
    {OP_TRIPLE_PLUS_ONE, 0, 0},  /* 3 */
    {OP_JUMP, 0, 6},             /* 4 */
    {OP_HALVE, 0, 0},            /* 5 */
    {OP_ADD, 1, 1},              /* 6: steps += 1 */
    {OP_JUMP, 0, 1},             /* 7 */
    {OP_HALT, 0, 0},             /* 8 */
};

__attribute__((noinline)) static u32 interpret(const struct op *program, u32 input) {
    u32 r[4] = {input, 0, 0, 0};
    u32 pc = 0;
    for (;;) {
        const struct op *op = &program[pc++];
        switch (op->code) {
        case OP_SET: r[op->reg] = op->arg; break;
        case OP_ADD: r[op->reg] += op->arg; break;
        case OP_HALVE: r[op->reg] >>= 1; break;
        case OP_TRIPLE_PLUS_ONE: r[op->reg] = 3 * r[op->reg] + 1; break;
        case OP_JUMP_IF_ONE: if (r[op->reg] == 1) pc = op->arg; break;
        case OP_JUMP_IF_EVEN: if ((r[op->reg] & 1) == 0) pc = op->arg; break;
        case OP_JUMP: pc = op->arg; break;
        default: return r[1];
        }
    }
}

u32 run_workload(u32 rounds) {
    u32 random = 2463534242u, checksum = 0;
    for (u32 round = 0; round < rounds; round++) {
        for (u32 i = 0; i < COUNT; i++) {
            random ^= random << 13;
            random ^= random >> 17;
            random ^= random << 5;
            numbers[i] = random;
        }
        quicksort(numbers, 0, COUNT - 1);
        for (u32 i = 1; i < COUNT; i++) {
            if (numbers[i - 1] > numbers[i]) checksum += 0x80000000u;  /* a broken sort shows */
        }
        checksum = checksum * 31 + numbers[COUNT / 2];
        for (u32 n = 1; n <= 48; n++) checksum += interpret(collatz, round * 48 + n);
    }
    return checksum;
}
