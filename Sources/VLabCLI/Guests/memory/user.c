/* user.c: the processes' code, linked at 0x10000 and shared read-only by every process.
 * No global variables (the page is read-only); everything a process keeps is in its pages.
 * Each function runs one quantum and ends it with an ECALL whose a0 is its result. */
#include "memory.h"

static inline __attribute__((noreturn)) void end_quantum(unsigned result) {
    register unsigned a0 __asm__("a0") = result;
    __asm__ volatile("ecall" : : "r"(a0) : "memory");
    for (;;) {}
}

/* Page-table-heavy: touch 16 words of each of the process's data pages; write back only to the
 * pages the kernel marked writable for this quantum (bit i of `writable`). */
void __attribute__((noreturn)) user_pt_quantum(unsigned argument) {
    unsigned pid = argument & 0xff, writable = argument >> 8;
    unsigned sum = pid;
    for (unsigned page = 0; page < PT_DATA_PAGES; page++) {
        volatile unsigned *words = (volatile unsigned *)(USER_DATA_VA + page * PAGE_SIZE);
        for (unsigned i = 0; i < 16; i++) {
            unsigned value = words[i * 16 + pid % 16];
            sum = sum * 31 + value;
            if (writable >> page & 1) words[i * 16 + pid % 16] = value + pid + page + 1;
        }
    }
    end_quantum(sum);
}

/* TLB-friendly: `argument` passes over every word of a few pages. */
void __attribute__((noreturn)) user_hot_loop(unsigned argument) {
    unsigned sum = 0;
    volatile unsigned *words = (volatile unsigned *)USER_DATA_VA;
    for (unsigned pass = 0; pass < argument; pass++) {
        for (unsigned i = 0; i < HOT_PAGES * PAGE_SIZE / 4; i++) {
            sum += words[i] ^ i;
            words[i] = sum;
        }
    }
    end_quantum(sum);
}

/* TLB-hostile: `argument` passes touching one word of each of many pages, in page order, so
 * consecutive accesses never share a page and the pages outnumber the TLB's entries. */
void __attribute__((noreturn)) user_strided(unsigned argument) {
    unsigned sum = 0;
    for (unsigned pass = 0; pass < argument; pass++) {
        for (unsigned page = 0; page < STRIDED_PAGES; page++) {
            volatile unsigned *word = (volatile unsigned *)(USER_DATA_VA + page * PAGE_SIZE + (page + pass) % 1024 * 4);
            sum = sum * 33 + *word;
            *word = sum ^ page;
        }
    }
    end_quantum(sum);
}
