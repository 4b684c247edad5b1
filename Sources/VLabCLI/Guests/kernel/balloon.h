/* balloon.h: the balloon hypercalls of the para-virtual build (kernel-pv.elf), for memory
 * over-commitment in the style of VMware ESX and Xen: the VMM sets a *target* (how many frames
 * the balloon should hold), the kernel's balloon driver allocates that many pages from its own
 * allocator (so the kernel decides what it can spare) and gives their frames back to the VMM;
 * when the target drops it asks for frames again and returns the pages to its allocator.
 *
 * Same convention as hypercall.h: ECALL from S-mode, number in a7, argument in a0, result in a0,
 * negative errors with the SBI's codes. Served by the VMM's domains (Sources/Hypervisor/Domains,
 * Sources/MemoryVirtualization/Overcommit/Balloon.swift). The bare firmware does not serve them
 * (it answers -2), so on a bare machine, or under a VMM without ballooning, the driver stays off. */
#ifndef BALLOON_H
#define BALLOON_H

#define BALLOON_REGISTER 0x16   /* a0 = &target word the VMM writes; returns the guest's RAM in frames */
#define BALLOON_GIVE     0x17   /* a0 = page address: its frame goes back to the VMM; returns 0 */
#define BALLOON_TAKE     0x18   /* a0 = a page given back: a frame there again; returns 0, or -1 if none is free */

#define BALLOON_ERR_FAILED (-1)   /* no machine frame free right now: try again later */

#endif
