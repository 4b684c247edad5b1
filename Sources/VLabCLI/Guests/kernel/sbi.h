/* sbi.h: the firmware's ECALL interface, shared by firmware.c (which serves it) and kernel.c
 * (which calls it). Modelled on the RISC-V SBI legacy extensions: the function number goes in
 * a7, arguments in a0 and a1, the result comes back in a0. The later para-virtual build turns
 * exactly these calls into hypercalls. */
#ifndef SBI_H
#define SBI_H

#define SBI_SET_TIMER 0   /* a0 = low, a1 = high word of the absolute mtime deadline */
#define SBI_PUTCHAR   1   /* a0 = byte for the console */
#define SBI_SHUTDOWN  8   /* a0 = exit status: 0 passes, anything else fails with that code */

/* Interrupt bits of mip/mie/sip/sie (privileged spec 3.1.9). */
#define IRQ_STIP (1u << 5)   /* supervisor timer */
#define IRQ_MTIP (1u << 7)   /* machine timer: raised by the CLINT */

#define csr_read(name) ({ unsigned int v_; asm volatile("csrr %0, " #name : "=r"(v_)); v_; })
#define csr_write(name, v) asm volatile("csrw " #name ", %0" :: "r"(v))
#define csr_set(name, v) asm volatile("csrs " #name ", %0" :: "r"(v))
#define csr_clear(name, v) asm volatile("csrc " #name ", %0" :: "r"(v))

#endif
