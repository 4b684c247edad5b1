/* accessed-dirty.c: a kernel that depends on the accessed and dirty bits the hardware sets (VirtLab
 * sets them in the walk, as QEMU does): a clock-style page ager that clears A, fences and later
 * reads which pages were used, and a write-back pass that clears D and finds the pages written
 * since. Loads must set A and never D; a store sets both; a store that faults sets neither; an
 * instruction fetch sets A of the code page; the bits of megapages and of the kernel's own
 * mappings follow the same rules. */
#include "runtime.h"

#define ASID 7
#define PAGES 32
static u32 *root;
static u32 *pte(u32 va) { return pte_of(root, va, 0); }
static void show(const char *what, u32 value) { puts(what); putc(' '); puthex(value); putc('\n'); }

int user_fault(u32 cause, u32 address, struct frame *frame) {
    (void)frame;
    puts("user fault ");
    puthex(cause);
    putc(' ');
    puthex(address);
    putc('\n');
    return 0;
}

/* One bit per page: which of the PAGES pages from 0x400000 have `bit` set; then clears it there. */
static u32 harvest(u32 bit) {
    u32 seen = 0;
    for (u32 i = 0; i < PAGES; i++) {
        u32 *entry = pte(0x400000 + i * PAGE);
        if (*entry & bit) seen |= 1u << i;
        *entry &= ~bit;
    }
    sfence_asid(ASID);
    return seen;
}

u32 kernel_main(void) {
    puts("accessed-dirty\n");
    root = new_space();
    add_user_code(root);
    for (u32 i = 0; i < PAGES; i++) {
        u32 *f = alloc_frame();
        f[0] = i * 0x01010101u;
        *pte_of(root, 0x400000 + i * PAGE, 1) = ((u32)f >> 12) << 10 | PTE_V | PTE_R | PTE_W | PTE_U;  /* A = D = 0 */
    }
    /* A read-only page, and a code page the user will execute, both with A = 0. */
    u32 *ro = alloc_frame();
    *pte_of(root, 0x500000, 1) = ((u32)ro >> 12) << 10 | PTE_V | PTE_R | PTE_U;
    u32 *code = alloc_frame();
    code[0] = 0x02a00513;   /* li a0, 42 */
    code[1] = 0x00008067;   /* ret */
    asm volatile("fence.i");
    *pte_of(root, 0x600000, 1) = ((u32)code >> 12) << 10 | PTE_V | PTE_X | PTE_U;
    switch_to(root, ASID, 1);

    show("nothing used yet", harvest(PTE_A));
    for (u32 round = 0; round < 6; round++) {
        /* Loads from every page with bit `round` of its number set; stores to every third one. */
        for (u32 i = 0; i < PAGES; i++)
            if (i >> (round % 5) & 1) run_user((u32)user_load, 0x400000 + i * PAGE + 4 * round, 0);
        for (u32 i = round % 3; i < PAGES; i += 3) run_user((u32)user_store, 0x400000 + i * PAGE + 8, round);
        show("accessed", harvest(PTE_A));
        show("dirty", harvest(PTE_D));
    }

    /* A load after a store in the same page, with D cleared between (and fenced). */
    run_user((u32)user_store, 0x400000, 1);
    show("dirty after store", *pte(0x400000) & (PTE_A | PTE_D));
    *pte(0x400000) &= ~(PTE_A | PTE_D);
    sfence_page(0x400000);
    run_user((u32)user_load, 0x400000, 0);
    show("load after clean", *pte(0x400000) & (PTE_A | PTE_D));
    run_user((u32)user_store, 0x400000, 2);
    show("store after load", *pte(0x400000) & (PTE_A | PTE_D));

    /* A faulting store to a read-only page sets neither bit; a load then sets A. */
    show("store to read-only", run_user((u32)user_store, 0x500000, 1));
    show("read-only bits", *pte(0x500000) & (PTE_A | PTE_D));
    run_user((u32)user_load, 0x500000, 0);
    show("read-only after load", *pte(0x500000) & (PTE_A | PTE_D));

    /* Executing sets A of the code page (X only: a load from it faults, and sets nothing more). */
    show("call", run_user((u32)user_call, 0x600000, 0));
    show("code bits", *pte(0x600000) & (PTE_A | PTE_D));
    show("load from execute-only", run_user((u32)user_load, 0x600000, 0));

    /* A kernel megapage-sized user mapping with A = D = 0: the first store sets both, in the
     * level-1 PTE. */
    u32 *big = &root[0x00800000 >> 22];
    *big = (0x80400000u >> 12) << 10 | PTE_V | PTE_R | PTE_W | PTE_U;
    sfence_all();
    run_user((u32)user_load, 0x00800000 + 0x5000, 0);
    show("megapage after load", *big & (PTE_A | PTE_D));
    run_user((u32)user_store, 0x00800000 + 0x6000, 3);
    show("megapage after store", *big & (PTE_A | PTE_D));

    /* The kernel's own 4 KiB mapping of a page, with A = D = 0, used from S-mode. */
    u32 *kpage = alloc_frame();
    *pte_of(root, 0x00C00000, 1) = ((u32)kpage >> 12) << 10 | PTE_V | PTE_R | PTE_W;
    sfence_all();
    probe_load(0x00C00010);
    show("kernel page after load", *pte(0x00C00000) & (PTE_A | PTE_D));
    probe_store(0x00C00010, 5);
    show("kernel page after store", *pte(0x00C00000) & (PTE_A | PTE_D));
    show("kernel page word", kpage[4]);
    puts("accessed-dirty done\n");
    return failures;
}
