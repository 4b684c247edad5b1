/* firmware.c: the M-mode firmware. It owns the hardware the kernel may not touch directly
 * (the CLINT timer, the UART, the test finisher), hands every trap it can to S-mode, and
 * serves three calls over ECALL (sbi.h). Like OpenSBI, in a few dozen lines. */
#include "sbi.h"

#define UART_THR      ((volatile unsigned char *)0x10000000)   /* 16550 transmit register */
#define UART_LSR      ((volatile unsigned char *)0x10000005)   /* line status */
#define UART_LSR_THRE 0x20                                     /* transmitter ready */
#define CLINT_MTIMECMP ((volatile unsigned int *)0x02004000)   /* 64-bit, two words */
#define FINISHER      ((volatile unsigned int *)0x00100000)    /* sifive_test */

#ifndef KERNEL_PARAVIRTUAL
/* The caller-saved registers firmware_trap_vector stores, in its order. */
struct machine_frame {
    unsigned int ra, t0, t1, t2, a0, a1, a2, a3, a4, a5, a6, a7, t3, t4, t5, t6;
};
#endif

extern void kernel_entry(void);

static void uart_putchar(char c) {
    while (!(*UART_LSR & UART_LSR_THRE)) {}
    *UART_THR = c;
}

static void shutdown(unsigned int status) {
    /* 0x5555 = pass; 0x3333 with the code in the upper half = fail with that exit code. */
    *FINISHER = status == 0 ? 0x5555 : (status << 16 | 0x3333);
    for (;;) {}
}

static void set_timer(unsigned int low, unsigned int high) {
    /* Writing the 64-bit compare register one word at a time: park the high word at its
     * maximum first, so no half-written value in between can fire early. */
    CLINT_MTIMECMP[1] = 0xffffffff;
    CLINT_MTIMECMP[0] = low;
    CLINT_MTIMECMP[1] = high;
    csr_clear(mip, IRQ_STIP);   /* the tick the kernel just handled is no longer pending */
    csr_set(mie, IRQ_MTIP);     /* and the next one will reach us */
}

#ifdef KERNEL_PARAVIRTUAL
#include "hypervisor.c"   /* the para-virtual build's firmware also serves the hypercalls */
#else
void firmware_trap(struct machine_frame *f) {
    unsigned int cause = csr_read(mcause);
    if (cause == (0x80000000u | 7)) {
        /* Machine timer. Only M-mode may see MTIP, so we pass the tick on as a supervisor
         * timer interrupt, and mask MTIP: it stays pending until the kernel sets a new deadline. */
        csr_set(mip, IRQ_STIP);
        csr_clear(mie, IRQ_MTIP);
        return;
    }
    if (cause == 9) {   /* ECALL from S-mode */
        switch (f->a7) {
        case SBI_SET_TIMER: set_timer(f->a0, f->a1); f->a0 = 0; break;
        case SBI_PUTCHAR: uart_putchar((char)f->a0); f->a0 = 0; break;
        case SBI_SHUTDOWN: shutdown(f->a0); break;
        default: f->a0 = (unsigned int)-1; break;   /* unknown call: an error, not a crash */
        }
        csr_write(mepc, csr_read(mepc) + 4);         /* resume after the ECALL */
        return;
    }
    /* Anything else reaching M-mode is a bug in the firmware or in what it delegated. */
    const char *message = "firmware: unexpected machine trap\n";
    while (*message) uart_putchar(*message++);
    shutdown(2);
}
#endif

void firmware_main(void) {
    /* PMP: without a rule, S- and U-mode may touch no memory at all (QEMU enforces this).
     * One NAPOT rule with all address bits set covers the whole address space, read/write/execute. */
    csr_write(pmpaddr0, 0xffffffffu);
    csr_write(pmpcfg0, 0x1f);        /* A = NAPOT (3 << 3), X W R */

    /* Delegation: every exception except ECALL from S (9, which is our interface) and from M
     * (11) goes straight to the kernel, and so do the supervisor interrupts. */
#ifdef KERNEL_PARAVIRTUAL
    /* The para-virtual kernel has no trap vector: every trap comes here and hypervisor.c passes
     * the ones from U-mode on to the kernel's HC_SET_TRAP_ENTRY. */
    csr_write(medeleg, 0);
    csr_write(mideleg, 0);
#else
    csr_write(medeleg, 0xb1ff);      /* causes 0-8, 12, 13, 15 */
    csr_write(mideleg, (1u << 1) | IRQ_STIP | (1u << 9));
#endif
    csr_write(mcounteren, 1u << 1);  /* the kernel may read the `time` CSR */

    /* MRET "returns" to S-mode at kernel_entry: MPP = 01 (supervisor). */
    unsigned int status = csr_read(mstatus);
    status = (status & ~(3u << 11)) | (1u << 11);
    csr_write(mstatus, status);
    csr_write(mepc, (unsigned int)kernel_entry);
    csr_write(satp, 0);              /* the kernel starts with translation off */
    asm volatile("mret");
}
