/* kernel.c: a small S-mode kernel that runs one memory workload (chosen at build time) in
 * U-mode processes with Sv32 paging, prints a checksum and stops the machine.
 *
 *   WORKLOAD_PT_HEAVY     many address spaces, a context switch per quantum, and mappings that
 *                         change all the time (remaps, write permission taken away and given back)
 *   WORKLOAD_TLB_FRIENDLY one address space, a hot loop over a few pages
 *   WORKLOAD_TLB_HOSTILE  one address space, one word per page over more pages than the TLB holds
 *
 * No interrupts and no timer: the run is the same instruction stream everywhere (VirtLab bare,
 * under a VMM, and QEMU), so the console bytes can be compared. The kernel keeps paging off for
 * itself (satp = 0 while it prints) and maps itself into every process as 4 MiB superpages, so
 * it can edit page tables and frames by their physical addresses while a process's table is live. */
#include "memory.h"

#define UART_THR  ((volatile unsigned char *)0x10000000)
#define UART_LSR  ((volatile unsigned char *)0x10000005)
#define FINISHER  ((volatile unsigned *)0x100000)

#define PTE_V 0x1u
#define PTE_R 0x2u
#define PTE_W 0x4u
#define PTE_X 0x8u
#define PTE_U 0x10u
#define PTE_A 0x40u
#define PTE_D 0x80u
#define KERNEL_MEGAPAGES 4u   /* 16 MiB identity-mapped for the kernel, from 0x80000000 */

extern char _end[], user_image_start[];
unsigned enter_user(unsigned entry, unsigned stack, unsigned argument);
void user_pt_quantum(unsigned argument);
void user_hot_loop(unsigned argument);
void user_strided(unsigned argument);

/* ---------------------------------------------------------------- console and exit */

static void putchar(char c) {
    while (!(*UART_LSR & 0x20)) {}
    *UART_THR = c;
}

static void puts(const char *s) { while (*s) putchar(*s++); }

static void putdec(unsigned value) {
    char digits[10];
    int n = 0;
    do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value);
    while (n) putchar(digits[--n]);
}

static void puthex(unsigned value) {
    puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4) putchar("0123456789abcdef"[value >> shift & 15]);
}

static void __attribute__((noreturn)) shutdown(unsigned status) {
    __asm__ volatile("csrw satp, zero; sfence.vma zero, zero" ::: "memory");
    *FINISHER = status == 0 ? 0x5555 : (status << 16 | 0x3333);
    for (;;) {}
}

void __attribute__((noreturn)) unexpected_trap(unsigned cause, unsigned pc, unsigned value) {
    __asm__ volatile("csrw satp, zero; sfence.vma zero, zero" ::: "memory");
    puts("workload: unexpected trap, scause ");
    puthex(cause);
    puts(" sepc ");
    puthex(pc);
    puts(" stval ");
    puthex(value);
    puts("\n");
    shutdown(4);
}

/* ---------------------------------------------------------------- frames and page tables */

static char *next_frame = _end;

static unsigned *allocate_frame(void) {
    unsigned *frame = (unsigned *)next_frame;
    next_frame += PAGE_SIZE;
    if ((unsigned)next_frame > 0x80000000u + KERNEL_MEGAPAGES * (4u << 20)) {
        puts("workload: out of frames\n");
        shutdown(5);
    }
    for (unsigned i = 0; i < PAGE_SIZE / 4; i++) frame[i] = 0;
    return frame;
}

static unsigned leaf(const void *frame, unsigned permissions) {
    return ((unsigned)frame >> 12) << 10 | permissions | PTE_V;
}

static unsigned pointer(const unsigned *table) { return ((unsigned)table >> 12) << 10 | PTE_V; }

/* A new address space: the kernel's superpages, the user code page, a stack page. */
static unsigned *new_address_space(void) {
    unsigned *root = allocate_frame();
    for (unsigned i = 0; i < KERNEL_MEGAPAGES; i++)
        root[512 + i] = leaf((void *)(0x80000000u + i * (4u << 20)), PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
    unsigned *low = allocate_frame();
    root[0] = pointer(low);
    low[USER_CODE_VA >> 12] = leaf(user_image_start, PTE_R | PTE_X | PTE_U);
    low[(USER_STACK_TOP >> 12) - 1] = leaf(allocate_frame(), PTE_R | PTE_W | PTE_U);
    return root;
}

/* The level-0 table for a virtual address, made if missing. */
static unsigned *table_for(unsigned *root, unsigned va) {
    unsigned *entry = &root[va >> 22];
    if (!(*entry & PTE_V)) *entry = pointer(allocate_frame());
    return (unsigned *)((*entry >> 10) << 12);
}

static void switch_to(unsigned *root) {
    unsigned satp = 0x80000000u | (unsigned)root >> 12;
    __asm__ volatile("csrw satp, %0; sfence.vma zero, zero" : : "r"(satp) : "memory");
}

static inline void fence_page(unsigned va) { __asm__ volatile("sfence.vma %0, zero" : : "r"(va) : "memory"); }

static void kernel_mode_paging_off(void) { __asm__ volatile("csrw satp, zero; sfence.vma zero, zero" ::: "memory"); }

static unsigned user_address(void (*function)(unsigned)) {
    return (unsigned)function;   /* linked at its user address */
}

/* ---------------------------------------------------------------- the workloads */

#if defined(WORKLOAD_PT_HEAVY)
static const char *const name = "pt-heavy";

static unsigned run(void) {
    static unsigned *roots[PT_PROCESSES], *data_tables[PT_PROCESSES];
    static unsigned *pool[PT_SPARE_FRAMES];
    unsigned pool_head = 0, remaps = 0, protections = 0, checksum = 0;
    for (unsigned p = 0; p < PT_PROCESSES; p++) {
        roots[p] = new_address_space();
        data_tables[p] = table_for(roots[p], USER_DATA_VA);
        for (unsigned page = 0; page < PT_DATA_PAGES; page++) {
            unsigned *frame = allocate_frame();
            for (unsigned i = 0; i < PAGE_SIZE / 4; i++) frame[i] = p * 0x01000193u ^ page << 16 ^ i;
            data_tables[p][page] = leaf(frame, PTE_R | PTE_W | PTE_U);
        }
    }
    for (unsigned i = 0; i < PT_SPARE_FRAMES; i++) {
        pool[i] = allocate_frame();
        for (unsigned j = 0; j < PAGE_SIZE / 4; j++) pool[i][j] = i * 0x9e3779b9u + j;
    }
    for (unsigned round = 0; round < PT_ROUNDS; round++) {
        for (unsigned p = 0; p < PT_PROCESSES; p++) {
            switch_to(roots[p]);
            /* Remap one data page onto a frame from the pool (the old frame goes back to it), in
             * the live address space: edit the PTE, then fence that page only. */
            unsigned page = (round + p) % PT_DATA_PAGES;
            unsigned *pte = &data_tables[p][page];
            unsigned *old = (unsigned *)((*pte >> 10) << 12);
            *pte = leaf(pool[pool_head], PTE_R | PTE_W | PTE_U);
            pool[pool_head] = old;
            pool_head = (pool_head + 1) % PT_SPARE_FRAMES;
            fence_page(USER_DATA_VA + page * PAGE_SIZE);
            remaps++;
            /* Take write permission away from another page for this quantum, give it back after. */
            unsigned locked = (round * 3 + p) % PT_DATA_PAGES;
            data_tables[p][locked] &= ~PTE_W;
            fence_page(USER_DATA_VA + locked * PAGE_SIZE);
            protections++;
            unsigned writable = ((1u << PT_DATA_PAGES) - 1) & ~(1u << locked);
            unsigned result = enter_user(user_address(user_pt_quantum), USER_STACK_TOP, p | writable << 8);
            data_tables[p][locked] |= PTE_W;
            fence_page(USER_DATA_VA + locked * PAGE_SIZE);
            checksum = (checksum * 33) ^ result;
        }
    }
    kernel_mode_paging_off();
    putdec(PT_PROCESSES);
    puts(" address spaces, ");
    putdec(PT_PROCESSES * PT_ROUNDS);
    puts(" context switches, ");
    putdec(remaps);
    puts(" remaps, ");
    putdec(protections * 2);
    puts(" permission changes\n");
    return checksum;
}

#elif defined(WORKLOAD_TLB_FRIENDLY)
static const char *const name = "tlb-friendly";

static unsigned run(void) {
    unsigned *root = new_address_space();
    unsigned *data = table_for(root, USER_DATA_VA);
    for (unsigned page = 0; page < HOT_PAGES; page++) {
        unsigned *frame = allocate_frame();
        for (unsigned i = 0; i < PAGE_SIZE / 4; i++) frame[i] = page * 1024 + i;
        data[page] = leaf(frame, PTE_R | PTE_W | PTE_U);
    }
    switch_to(root);
    unsigned checksum = enter_user(user_address(user_hot_loop), USER_STACK_TOP, HOT_PASSES);
    kernel_mode_paging_off();
    putdec(HOT_PASSES);
    puts(" passes over ");
    putdec(HOT_PAGES);
    puts(" pages\n");
    return checksum;
}

#elif defined(WORKLOAD_TLB_HOSTILE)
static const char *const name = "tlb-hostile";

static unsigned run(void) {
    unsigned *root = new_address_space();
    unsigned *frames[STRIDED_FRAMES];
    for (unsigned f = 0; f < STRIDED_FRAMES; f++) {
        frames[f] = allocate_frame();
        for (unsigned i = 0; i < PAGE_SIZE / 4; i++) frames[f][i] = f << 16 | i;
    }
    for (unsigned page = 0; page < STRIDED_PAGES; page++) {
        unsigned va = USER_DATA_VA + page * PAGE_SIZE;
        table_for(root, va)[va >> 12 & 1023] = leaf(frames[page % STRIDED_FRAMES], PTE_R | PTE_W | PTE_U);
    }
    switch_to(root);
    unsigned checksum = enter_user(user_address(user_strided), USER_STACK_TOP, STRIDED_PASSES);
    kernel_mode_paging_off();
    putdec(STRIDED_PASSES);
    puts(" passes over ");
    putdec(STRIDED_PAGES);
    puts(" pages backed by ");
    putdec(STRIDED_FRAMES);
    puts(" frames\n");
    return checksum;
}

#else
#error "build with -DWORKLOAD_PT_HEAVY, -DWORKLOAD_TLB_FRIENDLY or -DWORKLOAD_TLB_HOSTILE"
#endif

void __attribute__((noreturn)) kernel_main(void) {
    puts(name);
    puts(": ");
    unsigned checksum = run();
    puts(name);
    puts(": checksum ");
    puthex(checksum);
    puts("\n");
    shutdown(0);
}
