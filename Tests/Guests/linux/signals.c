/* The ways a process dies of a fault, chosen by argv[1]: "null" stores to address 0 (SIGSEGV),
 * "rodata" stores into read-only data (SIGSEGV), "exec" jumps into the data segment (SIGSEGV),
 * "illegal" runs an illegal instruction (SIGILL), "ebreak" a breakpoint (SIGTRAP), "stack" uses
 * a megabyte of stack (fine: the stack grows), "misaligned" loads and stores across word
 * boundaries (fine: Linux emulates them). */
#include "linux.h"

static const char read_only[] = "constant";
static u32 not_code[4] = {0x00000013, 0x00000013, 0x00000013, 0x00008067};  /* nop nop nop ret */

static u32 deep(int depth, volatile char *previous) {
    volatile char frame[1000];
    for (int i = 0; i < 1000; i += 64) frame[i] = (char)(depth + i);
    if (depth == 0) return (u32)frame[0] + (u32)previous[0];
    return deep(depth - 1, frame) + frame[64];
}

int guest_main(int argc, char **argv, char **envp, u32 *auxv) {
    (void)envp, (void)auxv;
    const char *what = argc > 1 ? argv[1] : "";
    put_string(1, "about to: ");
    put_string(1, what);
    put_char(1, '\n');
    if (strcmp(what, "null") == 0) {
        *(volatile int *)0 = 1;
    } else if (strcmp(what, "rodata") == 0) {
        *(volatile char *)read_only = 'C';
    } else if (strcmp(what, "exec") == 0) {
        ((void (*)(void))not_code)();
    } else if (strcmp(what, "illegal") == 0) {
        asm volatile(".word 0xffffffff");
    } else if (strcmp(what, "ebreak") == 0) {
        asm volatile("ebreak");
    } else if (strcmp(what, "stack") == 0) {
        put_string(1, "deep recursion result=");
        put_decimal(1, deep(1000, (volatile char *)"x"));
        put_char(1, '\n');
        return 0;
    } else if (strcmp(what, "misaligned") == 0) {
        static char bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        volatile u32 *word = (volatile u32 *)(bytes + 1);
        volatile unsigned short *half = (volatile unsigned short *)(bytes + 7);
        put_hex(1, *word);
        put_char(1, ' ');
        put_hex(1, *half);
        *word = 0xA1B2C3D4u;
        *half = 0xE5F6;
        put_char(1, ' ');
        put_hex(1, *(volatile u32 *)(bytes + 5));
        put_char(1, '\n');
        return 0;
    } else {
        put_string(2, "unknown case\n");
        return 2;
    }
    put_string(1, "still alive?\n");
    return 1;
}
