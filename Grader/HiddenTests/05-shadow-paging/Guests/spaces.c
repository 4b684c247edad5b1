/* spaces.c: many address spaces, the seed's "flooded" shadow tables. 40 processes, each with its
 * own root table, four private data pages and a private stack, run round-robin for 12 rounds:
 * every round switches satp 40 times. Half use ASIDs (1..20, no fence on a switch, as the ISA
 * allows), half use ASID 0 and a full fence on every switch (a kernel without ASIDs). Then every
 * process exits and 24 new ones are made from the recycled frames (old page tables become data
 * pages and the reverse) reusing ASIDs after an ASID-selective fence. Each process's checksums
 * are printed: a shadow table that gives one process another's page changes them. */
#include "runtime.h"

#define PROCESSES 40
#define ROUNDS 12

struct process { u32 *root; u32 asid; u32 *data[4]; u32 sum; };
static struct process processes[PROCESSES];

static void create(struct process *p, u32 id, u32 asid) {
    p->root = new_space();
    p->asid = asid;
    add_user_code(p->root);
    for (u32 page = 0; page < 4; page++) {
        p->data[page] = alloc_frame();
        p->data[page][0] = id << 8 | page;
        map(p->root, USER_DATA + page * PAGE, p->data[page], PTE_R | PTE_W | PTE_U);
    }
    p->sum = 0;
}

/* Frees the data pages, the stack, the second-level tables and the root. */
static void destroy(struct process *p) {
    for (u32 page = 0; page < 4; page++) free_frame(p->data[page]);
    free_frame((void *)((*pte_of(p->root, USER_STACK_TOP - PAGE, 0) >> 10) << 12));
    for (u32 index = 0; index < 1024; index++)   /* pointers only: the leaves are the kernel's */
        if ((p->root[index] & (PTE_V | PTE_R | PTE_W | PTE_X)) == PTE_V) free_frame((void *)((p->root[index] >> 10) << 12));
    free_frame(p->root);
}

static void run_all(u32 count, u32 rounds, u32 first_id) {
    for (u32 round = 0; round < rounds; round++) {
        for (u32 i = 0; i < count; i++) {
            struct process *p = &processes[i];
            switch_to(p->root, p->asid, p->asid == 0);
            p->sum += run_user((u32)user_worker, first_id + i, round);
        }
        putc('\n');
    }
}

u32 kernel_main(void) {
    puts("spaces: 40 address spaces\n");
    for (u32 i = 0; i < PROCESSES; i++) create(&processes[i], i, i % 2 ? i / 2 + 1 : 0);
    run_all(PROCESSES, ROUNDS, 0);
    for (u32 i = 0; i < PROCESSES; i++) {
        puts("process ");
        putdec(i);
        puts(" asid ");
        putdec(processes[i].asid);
        puts(" sum ");
        puthex(processes[i].sum);
        puts(" page0 ");
        puthex(processes[i].data[0][0]);
        putc('\n');
    }
    /* Everybody exits; the kernel runs on its own root while it tears them down. */
    u32 *kernel_root = new_space();
    switch_to(kernel_root, 0, 1);
    for (u32 i = 0; i < PROCESSES; i++) destroy(&processes[i]);
    puts("recycled\n");
    for (u32 i = 0; i < 24; i++) {
        u32 asid = i % 3 ? i + 1 : 0;
        if (asid) sfence_asid(asid);   /* the ASID is reused: its old translations must go */
        create(&processes[i], 100 + i, asid);
    }
    run_all(24, 6, 100);
    for (u32 i = 0; i < 24; i++) {
        puts("process ");
        putdec(100 + i);
        puts(" sum ");
        puthex(processes[i].sum);
        putc('\n');
    }
    return failures;
}

int user_fault(u32 cause, u32 address, struct frame *frame) {
    (void)frame;
    puts("unexpected user fault ");
    puthex(cause);
    putc(' ');
    puthex(address);
    putc('\n');
    failures++;
    return 0;
}
