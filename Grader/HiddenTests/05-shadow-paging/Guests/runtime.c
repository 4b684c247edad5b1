/* runtime.c: the C half of the guests' kernel: console, frame allocator, page tables, upcalls. */
#include "runtime.h"

#define UART ((volatile unsigned char *)0x10000000)
#define RAM_END 0x80800000u

extern char _end[];
extern char user_image_start[], user_image_end[];
u32 failures;

void putc(char c) { *UART = (unsigned char)c; }
void puts(const char *s) { while (*s) putc(*s++); }
void puthex(u32 value) {
    for (int shift = 28; shift >= 0; shift -= 4) putc("0123456789abcdef"[(value >> shift) & 15]);
}
void putdec(u32 value) {
    char digits[10];
    int n = 0;
    do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value);
    while (n) putc(digits[--n]);
}
void check(int condition, const char *what) {
    if (condition) return;
    failures++;
    puts("FAIL ");
    puts(what);
    putc('\n');
}

void kernel_fault(u32 cause, u32 pc, u32 value) {
    puts("kernel fault: cause ");
    puthex(cause);
    puts(" pc ");
    puthex(pc);
    puts(" tval ");
    puthex(value);
    putc('\n');
    shutdown(98);
}

/* Frames: a free list first (so frames are reused, page tables as data and data as page
 * tables), then never-used memory. */
static u32 next_frame;
static u32 *free_list;

u32 *alloc_frame(void) {
    u32 *frame;
    if (free_list) {
        frame = free_list;
        free_list = (u32 *)frame[0];
    } else {
        if (!next_frame) next_frame = ((u32)_end + PAGE - 1) & ~(PAGE - 1);
        if (next_frame >= RAM_END) {
            puts("out of frames\n");
            shutdown(97);
        }
        frame = (u32 *)next_frame;
        next_frame += PAGE;
    }
    for (u32 i = 0; i < PAGE / 4; i++) frame[i] = 0;
    return frame;
}

void free_frame(void *frame) {
    ((u32 *)frame)[0] = (u32)free_list;
    free_list = frame;
}

void fill_frame(u32 *frame, u32 pattern) {
    for (u32 i = 0; i < PAGE / 4; i++) frame[i] = pattern + i;
}

u32 *new_space(void) {
    u32 *root = alloc_frame();
    const u32 kernel = PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D;
    root[0x80000000u >> 22] = (0x80000000u >> 12) << 10 | kernel;
    root[0x80400000u >> 22] = (0x80400000u >> 12) << 10 | kernel;
    root[0x10000000u >> 22] = (0x10000000u >> 12) << 10 | (kernel & ~PTE_X);
    return root;
}

u32 *pte_of(u32 *root, u32 va, int create) {
    u32 *entry = &root[va >> 22];
    if (!(*entry & PTE_V)) {
        if (!create) return 0;
        u32 *table = alloc_frame();
        *entry = ((u32)table >> 12) << 10 | PTE_V;
    }
    u32 *table = (u32 *)((*entry >> 10) << 12);
    return &table[(va >> 12) & 0x3FF];
}

void map(u32 *root, u32 va, void *frame, u32 flags) {
    flags |= PTE_V | PTE_A;
    if (flags & PTE_W) flags |= PTE_D;
    *pte_of(root, va, 1) = ((u32)frame >> 12) << 10 | flags;
}

u32 satp_of(u32 *root, u32 asid) { return SATP_SV32 | asid << 22 | (u32)root >> 12; }

void switch_to(u32 *root, u32 asid, int fence) {
    asm volatile("csrw satp, %0" :: "r"(satp_of(root, asid)) : "memory");
    if (fence) sfence_all();
}

void add_user_code(u32 *root) {
    for (u32 p = (u32)user_image_start; p < (u32)user_image_end; p += PAGE)
        map(root, USER_CODE + (p - (u32)user_image_start), (void *)p, PTE_R | PTE_X | PTE_U);
    map(root, USER_STACK_TOP - PAGE, alloc_frame(), PTE_R | PTE_W | PTE_U);
}

u32 run_user(u32 function, u32 arg0, u32 arg1) { return enter_user(function, arg0, arg1, USER_STACK_TOP); }

/* A trap from U-mode (boot.S). 0: resume the user code; 1: end the upcall with user_result. */
extern u32 user_result;
int user_trap(struct frame *frame) {
    u32 cause, tval;
    asm volatile("csrr %0, scause" : "=r"(cause));
    asm volatile("csrr %0, stval" : "=r"(tval));
    if (cause == CAUSE_USER_ECALL) {
        frame->sepc += 4;
        if (frame->x[17] == SYS_PUTC) { putc((char)frame->x[10]); return 0; }
        user_result = frame->x[10];
        return 1;
    }
    if (user_fault(cause, tval, frame)) return 0;
    user_result = FAULTED(cause);
    return 1;
}
