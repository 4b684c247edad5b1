/* remap.c: a kernel changing mappings the way real ones do, each followed by the fence the ISA
 * asks for (or, where the ISA allows it, none): remapping a page to another frame (address fence,
 * ASID fence, full fence), unmapping and demand paging (the fault handler maps on first touch),
 * copy-on-write (a read-only page whose store fault copies it), swapping a whole second-level
 * table, a batch of edits with one fence at the end, ASID-selective fences for an address space
 * that is not running, a user mapping of a page table itself (stores to it edit live PTEs), and
 * the kernel remapping a page it uses itself, in the address space it runs in. */
#include "runtime.h"

static u32 *root_a, *root_b;
#define ASID_A 5
#define ASID_B 9
static u32 demand_faults, cow_faults;
static u32 *frames[8];

static u32 load(u32 va) { return run_user((u32)user_load, va, 0); }
static u32 store(u32 va, u32 value) { return run_user((u32)user_store, va, value); }
static void show(const char *what, u32 value) { puts(what); putc(' '); puthex(value); putc('\n'); }

/* Demand paging for 0x800000..0xBFFFFF; copy-on-write for pages marked with the RSW bit 8. */
int user_fault(u32 cause, u32 address, struct frame *frame) {
    (void)frame;
    u32 satp;
    asm volatile("csrr %0, satp" : "=r"(satp));
    u32 *root = (u32 *)((satp & 0x3FFFFF) << 12), asid = satp >> 22 & 0x1FF;
    u32 page = address & ~(PAGE - 1);
    if (address >= 0x800000 && address < 0xC00000 && cause != CAUSE_FETCH_PAGE_FAULT) {
        u32 *pte = pte_of(root, page, 1);
        if (!(*pte & PTE_V)) {
            u32 *frame_ = alloc_frame();
            frame_[0] = page ^ 0x5A5A0000;
            /* Invalid to valid: no fence needed on VirtLab (it never caches a failed walk). */
            map(root, page, frame_, PTE_R | PTE_W | PTE_U);
            demand_faults++;
            return 1;
        }
    }
    if (cause == CAUSE_STORE_PAGE_FAULT) {
        u32 *pte = pte_of(root, page, 0);
        if (pte && (*pte & 0x100)) {
            u32 *old = (u32 *)((*pte >> 10) << 12), *copy = alloc_frame();
            for (u32 i = 0; i < PAGE / 4; i++) copy[i] = old[i];
            *pte = ((u32)copy >> 12) << 10 | PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D;
            sfence_page_asid(page, asid);
            cow_faults++;
            return 1;
        }
    }
    return 0;
}

u32 kernel_main(void) {
    puts("remap\n");
    for (int i = 0; i < 8; i++) { frames[i] = alloc_frame(); fill_frame(frames[i], 0x1000000u * (u32)(i + 1)); }
    root_a = new_space();
    root_b = new_space();
    add_user_code(root_a);
    add_user_code(root_b);
    map(root_a, 0x400000, frames[0], PTE_R | PTE_W | PTE_U);
    map(root_b, 0x400000, frames[1], PTE_R | PTE_W | PTE_U);
    switch_to(root_a, ASID_A, 1);

    /* 1: remap with an address fence, an ASID fence, a full fence. */
    show("a 0x400000", load(0x400000));
    map(root_a, 0x400000, frames[2], PTE_R | PTE_W | PTE_U);
    sfence_page(0x400000);
    show("after address fence", load(0x400000));
    map(root_a, 0x400000, frames[3], PTE_R | PTE_W | PTE_U);
    sfence_page_asid(0x400000, ASID_A);
    show("after address+asid fence", load(0x400004));
    map(root_a, 0x400000, frames[4], PTE_R | PTE_W | PTE_U);
    sfence_asid(ASID_A);
    show("after asid fence", load(0x400008));
    map(root_a, 0x400000, frames[5], PTE_R | PTE_W | PTE_U);
    sfence_all();
    store(0x400010, 0xCAFE);
    show("after full fence", load(0x400010));
    check(frames[5][4] == 0xCAFE, "store reached frame 5");

    /* 2: address space B, not running, is edited and fenced by ASID; then it runs. */
    switch_to(root_b, ASID_B, 0);
    show("b 0x400000", load(0x400000));
    switch_to(root_a, ASID_A, 0);
    map(root_b, 0x400000, frames[6], PTE_R | PTE_W | PTE_U);
    sfence_asid(ASID_B);
    map(root_a, 0x400000, frames[7], PTE_R | PTE_W | PTE_U);
    sfence_page_asid(0x400000, ASID_A);
    show("a after both edits", load(0x400000));
    switch_to(root_b, ASID_B, 0);
    show("b after its asid fence", load(0x400000));
    switch_to(root_a, ASID_A, 0);

    /* 3: unmap with a fence: the next access faults and is not resolved. */
    *pte_of(root_a, 0x400000, 0) = 0;
    sfence_page_asid(0x400000, ASID_A);
    show("unmapped load", load(0x400000));
    show("unmapped store", store(0x400000, 1));

    /* 4: demand paging: 64 pages appear on first touch (invalid to valid, no fence). */
    show("demand sweep", run_user((u32)user_write_sweep, 0x800000, 64));
    show("demand faults", demand_faults);
    show("demand read", run_user((u32)user_sweep, 0x800000, 64));
    show("demand faults", demand_faults);

    /* 5: copy-on-write: B's page 0x401000 shares A's frame read-only; the store copies. */
    u32 *shared = alloc_frame();
    fill_frame(shared, 0x77000000);
    map(root_a, 0x401000, shared, PTE_R | PTE_U | 0x100);
    map(root_b, 0x401000, shared, PTE_R | PTE_U | 0x100);
    sfence_all();
    show("cow read a", load(0x401008));
    store(0x401008, 0xA);
    show("cow a wrote", load(0x401008));
    switch_to(root_b, ASID_B, 0);
    show("cow b sees", load(0x401008));
    store(0x40100C, 0xB);
    show("cow b wrote", load(0x40100C));
    switch_to(root_a, ASID_A, 0);
    show("cow a sees", load(0x40100C));
    show("cow original", shared[2] ^ shared[3]);
    show("cow faults", cow_faults);

    /* 6: a whole second-level table swapped (a non-leaf edit), full fence. */
    u32 *table = alloc_frame();
    for (u32 i = 0; i < 16; i++) {
        u32 *f = alloc_frame();
        f[0] = 0xD0000000u | i;
        table[i] = ((u32)f >> 12) << 10 | PTE_V | PTE_R | PTE_U | PTE_A;
    }
    show("before swap", run_user((u32)user_sweep, 0x800000, 16));
    u32 old_entry = root_a[0x800000 >> 22];
    root_a[0x800000 >> 22] = ((u32)table >> 12) << 10 | PTE_V;
    sfence_all();
    show("after swap", run_user((u32)user_sweep, 0x800000, 16));
    root_a[0x800000 >> 22] = old_entry;
    sfence_page_asid(0x800000, ASID_A);   /* a non-leaf change: the address fence is not enough */
    sfence_asid(ASID_A);
    show("swapped back", run_user((u32)user_sweep, 0x800000, 16));

    /* 7: a batch of edits (pages not touched meanwhile), one fence at the end. */
    for (u32 i = 0; i < 16; i++) {
        u32 *pte = pte_of(root_a, 0x800000 + i * PAGE, 0);
        u32 *f = (u32 *)((*pte >> 10) << 12);
        f[0] = 0xB0000000u | i;
        *pte = ((u32)frames[i % 8] >> 12) << 10 | PTE_V | PTE_R | PTE_U | PTE_A;
    }
    sfence_asid(ASID_A);
    show("batched", run_user((u32)user_sweep, 0x800000, 16));

    /* 8: the user maps its own second-level table and edits a PTE through it: a store to a page
     * table page from U-mode, then a fence (here from the kernel). */
    u32 *second = (u32 *)((root_a[0x400000 >> 22] >> 10) << 12);
    map(root_a, 0x402000, second, PTE_R | PTE_W | PTE_U);
    sfence_all();
    map(root_a, 0x403000, frames[0], PTE_R | PTE_U);
    sfence_all();
    show("page 0x403000", load(0x403000));
    store(0x402000 + 3 * 4, ((u32)frames[1] >> 12) << 10 | PTE_V | PTE_R | PTE_U | PTE_A);
    sfence_page(0x403000);
    show("page 0x403000 after user edit", load(0x403000));
    show("the pte", second[3]);

    /* 9: the kernel remaps a page only it uses (no U), while using it: the page tables it edits
     * are read by the walk for the very mapping it then uses, in the same address space. */
    map(root_a, 0xC00000, frames[2], PTE_R | PTE_W);
    sfence_page(0xC00000);
    show("kernel page", probe_load(0xC00000));
    probe_store(0xC00004, 0x4B1);
    for (u32 i = 3; i < 8; i++) {
        map(root_a, 0xC00000, frames[i], PTE_R | PTE_W);
        sfence_page(0xC00000);
        show("kernel page now", probe_load(0xC00000));
        show("its second word", probe_load(0xC00004));
        probe_store(0xC00004, 0x4B0 + i);
    }
    show("kernel stores landed", frames[2][1] + frames[3][1] + frames[7][1]);
    puts("remap done\n");
    return failures;
}
