/* permissions.c: one user page whose permissions the kernel changes (with a fence each time):
 * read-only to read-write and back, writable to execute-only and back, user to kernel-only and
 * back; the kernel's own access to a user page with and without SUM, loads from an execute-only
 * page with and without MXR, and one frame mapped at two addresses with different permissions
 * (a shadow entry is per virtual page, not per frame). */
#include "runtime.h"

#define ASID 11
#define VA 0x400000u
#define ALIAS 0x401000u
static u32 *root, *frame;
static void show(const char *what, u32 value) { puts(what); putc(' '); puthex(value); putc('\n'); }

int user_fault(u32 cause, u32 address, struct frame *frame_) {
    (void)frame_;
    (void)address;
    (void)cause;
    return 0;
}

static void set(u32 flags) {
    *pte_of(root, VA, 1) = ((u32)frame >> 12) << 10 | PTE_V | PTE_A | PTE_D | flags;
    sfence_page_asid(VA, ASID);
}

/* The user's load, store and call of the page, as one line. */
static void try_all(const char *what) {
    puts(what);
    putc(' ');
    puthex(run_user((u32)user_load, VA + 8, 0));
    putc(' ');
    puthex(run_user((u32)user_store, VA + 12, 0x5000 + failures));
    putc(' ');
    puthex(run_user((u32)user_call, VA, 0));
    putc('\n');
}

u32 kernel_main(void) {
    puts("permissions\n");
    root = new_space();
    add_user_code(root);
    frame = alloc_frame();
    frame[0] = 0x12300513;   /* li a0, 0x123 */
    frame[1] = 0x00008067;   /* ret */
    frame[2] = 0xFEEDu;
    asm volatile("fence.i");
    switch_to(root, ASID, 1);

    set(PTE_R | PTE_U);
    try_all("r-u");
    set(PTE_R | PTE_W | PTE_U);
    try_all("rw-u");
    set(PTE_R | PTE_U);
    try_all("r-u again");
    set(PTE_X | PTE_U);
    try_all("x-u");
    set(PTE_R | PTE_X | PTE_U);
    try_all("rx-u");
    set(PTE_R | PTE_W | PTE_X | PTE_U);
    try_all("rwx-u");
    set(PTE_R | PTE_W | PTE_X);
    try_all("rwx kernel only");
    set(PTE_W | PTE_U);
    try_all("w without r (reserved)");
    set(PTE_R | PTE_W | PTE_U);
    try_all("rw-u last");

    /* The kernel and a user page: SUM. */
    show("kernel load, no SUM", probe_load(VA + 8));
    show("cause", probe_cause);
    set_sstatus(SSTATUS_SUM);
    show("kernel load, SUM", probe_load(VA + 8));
    probe_store(VA + 16, 0xABCD);
    show("kernel store, SUM", probe_cause);
    show("kernel fetch, SUM", probe_fetch(VA));
    show("cause", probe_cause);
    clear_sstatus(SSTATUS_SUM);
    show("kernel store, no SUM", (probe_store(VA + 16, 1), probe_cause));
    show("word 4", frame[4]);

    /* MXR: loads from an execute-only page, for the user and the kernel. */
    set(PTE_X | PTE_U);
    show("x-u load", run_user((u32)user_load, VA + 8, 0));
    set_sstatus(SSTATUS_MXR);
    show("x-u load with MXR", run_user((u32)user_load, VA + 8, 0));
    clear_sstatus(SSTATUS_MXR);
    show("x-u load again", run_user((u32)user_load, VA + 8, 0));
    *pte_of(root, VA, 1) = ((u32)frame >> 12) << 10 | PTE_V | PTE_A | PTE_X;
    sfence_page(VA);
    show("kernel load from x", probe_load(VA + 8));
    set_sstatus(SSTATUS_MXR);
    show("kernel load from x, MXR", probe_load(VA + 8));
    clear_sstatus(SSTATUS_MXR);

    /* One frame at two virtual pages: read-write here, read-only there. */
    set(PTE_R | PTE_W | PTE_U);
    *pte_of(root, ALIAS, 1) = ((u32)frame >> 12) << 10 | PTE_V | PTE_A | PTE_R | PTE_U;
    sfence_page(ALIAS);
    run_user((u32)user_store, VA + 20, 0x600D);
    show("alias reads", run_user((u32)user_load, ALIAS + 20, 0));
    show("alias store", run_user((u32)user_store, ALIAS + 20, 1));
    show("alias unchanged", frame[5]);
    puts("permissions done\n");
    return failures;
}
