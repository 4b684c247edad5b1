/* hypervisor.c: the para-virtual build's firmware serves the hypercalls of hypercall.h, so that
 * kernel-pv.elf also runs bare (on vlab and on QEMU), not only under VirtLab's VMM. It is the
 * same interface the VMM's `paravirtual` mode implements in Swift, written for the real machine:
 * M-mode plays the hypervisor, S-mode the para-virtual guest kernel.
 *
 * Included by firmware.c (KERNEL_PARAVIRTUAL), whose uart_putchar, shutdown and set_timer it uses.
 * boot.S saves every register into a struct trap_frame, and restores them from it, so a handler
 * can save a process's registers (a trap from U-mode) or load them (HC_RUN_USER). */
#include "hypercall.h"

#define RAM_START   0x80000000u
#define RAM_SIZE    (128u << 20)      /* QEMU virt's default, and vlab's */
#define CLINT_MTIME ((volatile unsigned int *)0x0200bff8)
#define CAUSE_TIMER_EVENT (0x80000000u | 5)   /* what the kernel sees: scause's supervisor timer */

struct trap_frame { unsigned int x[32]; };
enum { SP = 2, A0 = 10, A1 = 11, A2 = 12, A7 = 17 };

static struct {
    unsigned int entry, stack;
    struct trap_info *info;
} kernel;                               /* from HC_SET_TRAP_ENTRY; entry 0 = not yet */
static struct user_context *running;    /* the context in U-mode, 0 while the kernel runs */
static int timer_event_pending;         /* the deadline passed; cleared by setting a new one */

static int in_ram(unsigned int address, unsigned int size) {
    return address >= RAM_START && size <= RAM_SIZE && address - RAM_START <= RAM_SIZE - size;
}
static int words_in_ram(unsigned int address, unsigned int size) {
    return (address & 3) == 0 && in_ram(address, size);
}
/* Sv32 mode with a root table in RAM. */
static int valid_satp(unsigned int satp) {
    unsigned int root_page = satp & 0x3fffff;
    return satp >> 31 && root_page >= RAM_START >> 12 && root_page < (RAM_START + RAM_SIZE) >> 12;
}

static void set_mode_to_return_to(unsigned int mode) {
    unsigned int status = csr_read(mstatus);
    csr_write(mstatus, (status & ~(3u << 11)) | mode << 11);
}

/* The process in U-mode trapped (or its timer event came): its registers and pc go into its
 * context, the cause into trap_info, and MRET enters the kernel's trap entry with a0 = context. */
static void enter_kernel(struct trap_frame *f, unsigned int cause, unsigned int value) {
    struct user_context *context = running;
    for (int i = 1; i < 32; i++) context->registers[i] = f->x[i];
    context->pc = csr_read(mepc);
    kernel.info->cause = cause;
    kernel.info->value = value;
    running = 0;
    f->x[SP] = kernel.stack;
    f->x[A0] = (unsigned int)context;
    csr_write(mepc, kernel.entry);
    set_mode_to_return_to(1);
}

/* 0 when the frame now holds the process (or the kernel's trap entry): the call does not return. */
static long run_user(struct trap_frame *f, unsigned int address, unsigned int satp) {
    if (!kernel.entry) return HC_ERR_DENIED;
    if (!words_in_ram(address, sizeof(struct user_context))) return HC_ERR_INVALID_ADDRESS;
    if (!valid_satp(satp)) return HC_ERR_INVALID_PARAM;
    csr_write(satp, satp);
    asm volatile("sfence.vma" ::: "memory");
    struct user_context *context = (struct user_context *)address;
    for (int i = 1; i < 32; i++) f->x[i] = context->registers[i];
    csr_write(mepc, context->pc);
    set_mode_to_return_to(0);
    running = context;
    /* A pending event is delivered before the first instruction, as a pending interrupt would be
     * right after SRET. */
    if (timer_event_pending) enter_kernel(f, CAUSE_TIMER_EVENT, 0);
    return 0;
}

static unsigned long long read_mtime(void) {
    unsigned int high, low;
    do { high = CLINT_MTIME[1]; low = CLINT_MTIME[0]; } while (high != CLINT_MTIME[1]);
    return (unsigned long long)high << 32 | low;
}

/* The call's result, for a0. */
static long hypercall(struct trap_frame *f) {
    unsigned int a0 = f->x[A0], a1 = f->x[A1], a2 = f->x[A2];
    switch (f->x[A7]) {
    case SBI_SET_TIMER:
        set_timer(a0, a1);
        timer_event_pending = 0;
        return 0;
    case SBI_PUTCHAR:
        uart_putchar((char)a0);
        return 0;
    case SBI_SHUTDOWN:
        shutdown(a0);
        return 0;
    case HC_CONSOLE_WRITE:
        if (!in_ram(a0, a1)) return HC_ERR_INVALID_ADDRESS;
        for (unsigned int i = 0; i < a1; i++) uart_putchar(((const char *)a0)[i]);
        return a1;
    case HC_SET_TRAP_ENTRY:
        if (!words_in_ram(a0, 4) || (a1 & 15) || !in_ram(a1 - 16, 16)) return HC_ERR_INVALID_PARAM;
        if (!words_in_ram(a2, sizeof(struct trap_info))) return HC_ERR_INVALID_ADDRESS;
        kernel.entry = a0, kernel.stack = a1, kernel.info = (struct trap_info *)a2;
        return 0;
    case HC_SET_PAGE_TABLE:
        if (a0 && !valid_satp(a0)) return HC_ERR_INVALID_PARAM;
        csr_write(satp, a0);
        asm volatile("sfence.vma" ::: "memory");
        return 0;
    case HC_RUN_USER:
        return run_user(f, a0, a1);   /* 0: a0 is the process's own now (see firmware_trap) */
    case HC_SET_TIMER_IN: {
        unsigned long long deadline = read_mtime() + a0;
        set_timer((unsigned int)deadline, (unsigned int)(deadline >> 32));
        timer_event_pending = 0;
        return 0;
    }
    case HC_BLOCK:
        /* M-mode runs with MIE = 0, so the timer does not trap here: WFI just wakes for it. */
        while (!timer_event_pending) {
            if (csr_read(mip) & IRQ_MTIP) {
                timer_event_pending = 1;
                csr_clear(mie, IRQ_MTIP);
            } else {
                asm volatile("wfi");
            }
        }
        return 0;
    default:
        return HC_ERR_NOT_SUPPORTED;
    }
}

static void print_hex(unsigned int value) {
    for (int shift = 28; shift >= 0; shift -= 4) uart_putchar("0123456789abcdef"[(value >> shift) & 15]);
}

void firmware_trap(struct trap_frame *f) {
    unsigned int cause = csr_read(mcause);
    int from_user = ((csr_read(mstatus) >> 11) & 3) == 0 && running;
    if (cause == (0x80000000u | 7)) {
        /* The deadline passed. MTIP stays pending until a new deadline is set, so mask it. A
         * process is interrupted at once; the kernel learns of it in HC_BLOCK or HC_RUN_USER. */
        csr_clear(mie, IRQ_MTIP);
        timer_event_pending = 1;
        if (from_user) enter_kernel(f, CAUSE_TIMER_EVENT, 0);
        return;
    }
    if (from_user) {   /* a system call or a fault of the process: the kernel's to handle */
        enter_kernel(f, cause, csr_read(mtval));
        return;
    }
    if (cause == 9) {   /* a hypercall */
        csr_write(mepc, csr_read(mepc) + 4);
        int run_user_call = f->x[A7] == HC_RUN_USER;
        long result = hypercall(f);
        if (!(run_user_call && result == 0)) f->x[A0] = result;
        return;
    }
    /* Anything else is a fault of the kernel itself (or of this firmware). */
    const char *message = "firmware: kernel fault: cause 0x";
    while (*message) uart_putchar(*message++);
    print_hex(cause);
    message = " at pc 0x";
    while (*message) uart_putchar(*message++);
    print_hex(csr_read(mepc));
    uart_putchar('\n');
    shutdown(1);
}
