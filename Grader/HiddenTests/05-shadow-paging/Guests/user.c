/* user.c: the user programs, linked at 0x10000 (USER_CODE) and mapped there, read-only and
 * executable, in every address space. The kernel starts one with an upcall (run_user) and gets
 * its result back through SYS_DONE. No global variables: the pages are shared. */
typedef unsigned int u32;

#define SYS_PUTC 1
#define SYS_DONE 2

static void __attribute__((noreturn)) done(u32 value) {
    register u32 a0 asm("a0") = value;
    register u32 a7 asm("a7") = SYS_DONE;
    asm volatile("ecall" :: "r"(a0), "r"(a7));
    __builtin_unreachable();
}

static void put(char c) {
    register u32 a0 asm("a0") = (u32)c;
    register u32 a7 asm("a7") = SYS_PUTC;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
}

void user_load(u32 address) { done(*(volatile u32 *)address); }

void user_store(u32 address, u32 value) {
    *(volatile u32 *)address = value;
    done(0);
}

/* Calls the code at `address` (a function returning a value). */
void user_call(u32 address) { done(((u32 (*)(void))address)()); }

/* One round of a process of the "many address spaces" guest: its four data pages at 0x400000
 * hold its state; it adds to them, reads them back, and prints a letter for its id. */
void user_worker(u32 id, u32 round) {
    volatile u32 *data = (volatile u32 *)0x400000;
    u32 sum = 0;
    for (u32 page = 0; page < 4; page++) {
        volatile u32 *words = data + page * 1024;
        words[round & 1023] += id * 3 + round + page;
        words[1023 - (round & 1023)] ^= id << page;
        sum += words[0] + words[round & 1023] + words[1023];
    }
    put((char)('A' + id % 26));
    done(sum);
}

/* Loads the first word of `pages` consecutive pages from `first`; returns their sum. */
void user_sweep(u32 first, u32 pages) {
    u32 sum = 0;
    for (u32 i = 0; i < pages; i++) sum += *(volatile u32 *)(first + i * 4096);
    done(sum);
}

/* Stores the page number into the second word of each of `pages` pages from `first`. */
void user_write_sweep(u32 first, u32 pages) {
    for (u32 i = 0; i < pages; i++) *(volatile u32 *)(first + i * 4096 + 4) = i;
    done(pages);
}
