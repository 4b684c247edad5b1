/* superpages.c: 4 MiB megapages for user memory. The shadow table maps them 4 KiB at a time, so
 * these are the cases where a pager that forgets a superpage is one translation goes wrong:
 * a megapage remapped and fenced by the address of just one of its pages (the ISA says the
 * whole superpage's translation goes), a megapage split into a second-level table and pages
 * merged back into a megapage, a misaligned megapage (a page fault), and a megapage of the
 * kernel's own memory given to the user read-only. */
#include "runtime.h"

#define BIG 0x00C00000u          /* the user megapage's virtual address */
#define ASID 3

static u32 load(u32 va) { return run_user((u32)user_load, va, 0); }
static u32 sweep(u32 va, u32 pages) { return run_user((u32)user_sweep, va, pages); }
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

/* 4 MiB of frames, 4 MiB aligned, from physical 0x80400000 (the kernel's second megapage: free
 * memory the frame allocator has not reached), each page's first words marked. */
static void mark(u32 physical, u32 tag) {
    for (u32 page = 0; page < 1024; page += 1) {
        u32 *words = (u32 *)(physical + page * PAGE);
        words[0] = tag | page;
        words[1] = tag ^ page;
    }
}

u32 kernel_main(void) {
    puts("superpages\n");
    u32 *root = new_space();
    add_user_code(root);
    switch_to(root, ASID, 1);
    /* The frame allocator hands out frames from just above the image; 0x80400000..0x807FFFFF is
     * used here as two 2 MiB halves of one megapage's worth of data. */
    mark(0x80400000, 0x11000000);
    const u32 user_rw = PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;
    root[BIG >> 22] = (0x80400000u >> 12) << 10 | user_rw;
    sfence_all();
    show("megapage sweep", sweep(BIG, 1024));
    show("page 0x3ff", load(BIG + 0x3FF000));

    /* Retag the memory (same frames), so a stale translation would still read old tags... */
    mark(0x80400000, 0x22000000);
    show("retagged in place", sweep(BIG, 64));
    /* ...then point the megapage at the kernel image's megapage, read-only, and fence by the
     * address of page 7 only: every page of the superpage must change. */
    root[BIG >> 22] = (0x80000000u >> 12) << 10 | PTE_V | PTE_R | PTE_U | PTE_A;
    sfence_page_asid(BIG + 7 * PAGE, ASID);
    show("kernel image word", load(BIG));
    show("same as kernel", load(BIG) == *(u32 *)0x80000000u);
    show("store to read-only megapage", run_user((u32)user_store, BIG + 0x100, 1));

    /* Split: a second-level table whose pages map the data megapage's pages in reverse order. */
    u32 *table = alloc_frame();
    for (u32 i = 0; i < 1024; i++) table[i] = ((0x80400000u >> 12) + (1023 - i)) << 10 | user_rw;
    root[BIG >> 22] = ((u32)table >> 12) << 10 | PTE_V;
    sfence_page(BIG + 0x200000);
    show("split page 0", load(BIG));
    show("split page 1023", load(BIG + 0x3FF000));
    show("split sweep", sweep(BIG, 1024));

    /* Merge back into a megapage; fence by ASID. */
    root[BIG >> 22] = (0x80400000u >> 12) << 10 | user_rw;
    sfence_asid(ASID);
    show("merged page 5", load(BIG + 5 * PAGE));
    show("merged sweep", sweep(BIG, 1024));

    /* A megapage whose PPN[0] is not zero is misaligned: a page fault on every access. */
    root[BIG >> 22] = ((0x80400000u >> 12) + 1) << 10 | user_rw;
    sfence_all();
    show("misaligned megapage", load(BIG + PAGE));

    /* Two megapages mapping the same memory (aliases); a store through one is seen by the other. */
    root[BIG >> 22] = (0x80400000u >> 12) << 10 | user_rw;
    root[(BIG + MEGAPAGE) >> 22] = (0x80400000u >> 12) << 10 | user_rw;
    sfence_all();
    run_user((u32)user_store, BIG + 0x123450, 0xA11A5);
    show("alias", load(BIG + MEGAPAGE + 0x123450));

    /* S-mode reaches a user megapage only with SUM. */
    show("kernel without SUM", probe_load(BIG + 0x123450));
    show("cause", probe_cause);
    set_sstatus(SSTATUS_SUM);
    show("kernel with SUM", probe_load(BIG + 0x123450));
    clear_sstatus(SSTATUS_SUM);
    puts("superpages done\n");
    return failures;
}
