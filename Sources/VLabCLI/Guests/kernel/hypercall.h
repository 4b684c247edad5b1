/* hypercall.h: the para-virtual interface (kernel-pv.elf). The para-virtual kernel executes no
 * privileged instruction at all: every privileged operation of kernel.elf is one of these calls,
 * and the calls are shaped so that one call does what took kernel.elf several trapping
 * instructions (switching to a process is satp + sfence.vma + sepc + sscratch + sret in one).
 *
 * The calling convention is the firmware's (sbi.h): ECALL from S-mode with the call number in
 * a7, arguments in a0-a2, the result in a0, all other registers preserved. Pointers are
 * guest-physical addresses (the kernel identity-maps its RAM, so its own addresses qualify) and
 * must lie in guest RAM, word-aligned where they point at words. Errors are negative, with the
 * RISC-V SBI's numbers.
 *
 * Served by the VMM's `paravirtual` mode, and (so that the image also runs bare, on vlab and on
 * QEMU) by the M-mode firmware of this build (firmware.c, hypervisor.c). README.md has the table. */
#ifndef HYPERCALL_H
#define HYPERCALL_H

#include "sbi.h"   /* calls 0, 1 and 8 stay as they are */

#define HC_CONSOLE_WRITE   0x10   /* a0 = address, a1 = length: write the bytes; returns length */
#define HC_SET_TRAP_ENTRY  0x11   /* a0 = entry, a1 = kernel stack top, a2 = struct trap_info * */
#define HC_SET_PAGE_TABLE  0x12   /* a0 = satp value: satp := a0 and flush the TLB */
#define HC_RUN_USER        0x13   /* a0 = struct user_context *, a1 = satp: run it in U-mode */
#define HC_SET_TIMER_IN    0x14   /* a0 = ticks from now: the next timer event's deadline */
#define HC_BLOCK           0x15   /* wait until a timer event is pending; returns 0 */

/* Errors (the SBI's codes). */
#define HC_ERR_NOT_SUPPORTED   (-2)   /* no such call */
#define HC_ERR_INVALID_PARAM   (-3)   /* e.g. a satp without Sv32 mode or pointing outside RAM */
#define HC_ERR_INVALID_ADDRESS (-5)   /* a pointer outside guest RAM, or misaligned */
#define HC_ERR_DENIED          (-4)   /* HC_RUN_USER before HC_SET_TRAP_ENTRY */

/* What HC_RUN_USER restores and what a trap from U-mode saves: x0..x31 (x0 unused) and pc.
 * The kernel's struct process starts with exactly this. */
struct user_context {
    unsigned int registers[32];
    unsigned int pc;
};

/* Filled in before the trap entry is entered: what kernel.elf reads from scause and stval.
 * (The trapping pc is user_context.pc.) Cause numbers are scause's: 8 = ECALL from U-mode,
 * 12/13/15 = page faults, 0x80000005 = the timer event. */
struct trap_info {
    unsigned int cause;
    unsigned int value;
};

#endif
