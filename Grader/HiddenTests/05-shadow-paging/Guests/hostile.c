/* hostile.c: page tables a VMM must survive. Each case must end in the fault the bare machine
 * raises (printed), never in the VMM reading or mapping memory the guest does not own: a pointer
 * PTE to no memory, to device memory and beyond the guest's RAM; leaves mapping addresses below
 * and above the RAM; a W-without-R leaf and a pointer at the last level; a loop (the root points
 * at itself), through which the kernel reads and edits its own root table; a root table outside
 * RAM for the user. It ends with a satp whose root is outside RAM while the kernel runs: every
 * fetch faults, the trap vector too, forever (the bare machine spins; a VMM should stop the guest
 * with a fault report). */
#include "runtime.h"

#define ASID 13
static u32 *root;
static void show(const char *what, u32 value) { puts(what); putc(' '); puthex(value); putc('\n'); }

int user_fault(u32 cause, u32 address, struct frame *frame) {
    (void)frame;
    (void)cause;
    (void)address;
    return 0;
}

static u32 user_probe(u32 va) { return run_user((u32)user_load, va, 0); }

u32 kernel_main(void) {
    puts("hostile\n");
    root = new_space();
    add_user_code(root);
    switch_to(root, ASID, 1);
    const u32 user_leaf = PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;

    root[1] = (0x00010000u >> 12) << 10 | PTE_V;                  /* pointer to no memory */
    root[2] = (0x10000000u >> 12) << 10 | PTE_V;                  /* pointer into the UART */
    root[3] = (0x80800000u >> 12) << 10 | PTE_V;                  /* pointer just past the RAM */
    root[4] = (0xFFFFF000u >> 12) << 10 | PTE_V;                  /* pointer to the top of the address space */
    u32 *table = alloc_frame();
    root[5] = ((u32)table >> 12) << 10 | PTE_V;
    table[0] = (0x7FFFF000u >> 12) << 10 | user_leaf;             /* the page below the RAM */
    table[1] = (0x80800000u >> 12) << 10 | user_leaf;             /* the page after the RAM */
    table[2] = (0x80000000u >> 12) << 10 | PTE_V | PTE_W | PTE_U; /* W without R */
    table[3] = ((u32)table >> 12) << 10 | PTE_V;                  /* a pointer at level 0 */
    table[4] = (0x00100000u >> 12) << 10 | user_leaf;             /* the test finisher */
    sfence_all();
    show("pointer to no memory", user_probe(1 * MEGAPAGE));
    show("pointer into the uart", user_probe(2 * MEGAPAGE + 0x1000));
    show("pointer past the ram", user_probe(3 * MEGAPAGE));
    show("pointer to the top", run_user((u32)user_store, 4 * MEGAPAGE + 0x3FF000, 1));
    show("page below the ram", user_probe(5 * MEGAPAGE));
    show("page after the ram", run_user((u32)user_store, 5 * MEGAPAGE + 0x1000, 1));
    show("w without r", user_probe(5 * MEGAPAGE + 0x2000));
    show("pointer at level 0", user_probe(5 * MEGAPAGE + 0x3000));
    show("fetch from the finisher page", run_user((u32)user_call, 5 * MEGAPAGE + 0x4000, 0));

    /* A loop: root[6] points at the root itself, so VA 6 << 22 | j << 12 is translated by
     * root[j] read as a level-0 PTE. root[7] is a leaf naming the root's frame: as a megapage it
     * is misaligned (a page fault), but through the loop it maps the root table itself. */
    root[6] = ((u32)root >> 12) << 10 | PTE_V;
    root[7] = ((u32)root >> 12) << 10 | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    sfence_all();
    u32 self = 6 * MEGAPAGE + 7 * PAGE;
    show("root[0x200] through the loop", probe_load(self + 0x200 * 4));
    show("cause", probe_cause);
    show("misaligned megapage", probe_load(7 * MEGAPAGE));
    show("cause", probe_cause);
    show("loop to a pointer", probe_load(6 * MEGAPAGE + 6 * PAGE));
    show("cause", probe_cause);
    /* Through the loop, the kernel edits its own root: root[8] becomes a user megapage. */
    probe_store(self + 8 * 4, (0x80400000u >> 12) << 10 | user_leaf);
    sfence_all();
    *(u32 *)0x80400000u = 0x5E1F;
    show("new megapage", user_probe(8 * MEGAPAGE));
    show("root[8]", root[8] & ~(PTE_A | PTE_D));
    /* And unmaps it again through the loop. */
    probe_store(self + 8 * 4, 0);
    sfence_page(8 * MEGAPAGE);
    show("unmapped", user_probe(8 * MEGAPAGE));

    /* A root table outside RAM, for the kernel itself. */
    u32 satp = SATP_SV32 | ASID << 22 | 0x90000000u >> 12;
    puts("and now the root outside RAM for the kernel itself\n");
    asm volatile("csrw satp, %0\n" "sfence.vma\n" :: "r"(satp) : "memory");
    puts("not reached\n");
    return failures + 1;
}
