/* The I/O guest's interface to the VMM (SplitIO's IOHypercalls and its two disk devices).
 *
 * Hypercalls: ECALL from the guest kernel (virtual M- or S-mode), call number in a7,
 * arguments in a0-a1, result in a0. Addresses are guest-physical. A negative result is an
 * error: -1 generic failure, -2 not supported, -3 invalid parameter, -4 denied.
 * The Swift side is Sources/SplitIO/Domains/IOHypercalls.swift; the numbers must match. */
#ifndef IO_ABI_H
#define IO_ABI_H

#define IO_GRANT         0x100 /* a0 = guest frame address, a1 = 1 for read-only: a0 = grant reference for Dom0 */
#define IO_GRANT_END     0x101 /* a0 = grant reference: ends it (refused while Dom0 has it mapped) */
#define IO_EVTCHN_ALLOC  0x102 /* a0 = new event port offered to Dom0 (EVTCHNOP_alloc_unbound) */
#define IO_EVTCHN_SEND   0x103 /* a0 = port: notify the other end (EVTCHNOP_send) */
#define IO_EVTCHN_ACK    0x104 /* clear the upcall (the virtual interrupt) and every pending port:
                                  a0 = bit mask of the ports that were pending */
#define IO_BLOCK         0x105 /* wait until an event is pending (SCHEDOP_block): 0, or -1 if none can come */
#define IO_BLK_CONNECT   0x106 /* a0 = ring grant reference, a1 = port: ask Dom0's block backend to
                                  connect (what Xen's xenstore handshake does) */
#define IO_MARK          0x107 /* a0 = 0 workload starts, 1 workload ends (a1 = checksum): measurement points */
#define IO_SHUTDOWN      0x108 /* a0 = exit code: the domain stops */
#define IO_PT_ASSIGN     0x109 /* a0 = guest address of the pass-through device's queue page */
#define IO_BLK_PROBE     0x10A /* is there a split-driver disk for this domain? a0 = its size in
                                  512-byte sectors (at most 0x7fffffff), or -2 when there is none
                                  (also what a VMM or firmware without I/O hypercalls answers) */
#define IO_YIELD         0x10B /* give up the rest of this time slice, staying runnable (SCHEDOP_yield): 0 */

/* The virtual interrupt that carries event-channel upcalls and device completions:
 * the supervisor external interrupt (mip.SEIP, bit 9), taken in M-mode here (mideleg = 0). */
#define IO_UPCALL_CAUSE  0x80000009u

/* The emulated disk controller ("vlab-disk", full device emulation): 32-bit registers at
 * 0x10001000, every access traps to the VMM. A request: write SECTOR, BUFFER, COUNT, then
 * COMMAND; the command completes before the write returns; read STATUS. */
#define VDISK_BASE       0x10001000u
#define VDISK_MAGIC      0x00 /* RO: 0x6B736476 ("vdsk") */
#define VDISK_CAPACITY   0x04 /* RO: disk size in 512-byte sectors */
#define VDISK_SECTOR     0x08 /* first sector */
#define VDISK_BUFFER     0x0C /* guest-physical address of the data (the VMM copies through the p2m) */
#define VDISK_COUNT      0x10 /* sectors, 1..8, the buffer must not cross a page */
#define VDISK_COMMAND    0x14 /* WO: 0 read, 1 write, 3 flush */
#define VDISK_STATUS     0x18 /* RO: 0 done, 1 error */
#define VDISK_MAGIC_VALUE 0x6B736476u

/* The pass-through DMA disk ("vlab-dma"): the guest owns it outright. Its queue is a page of
 * guest memory the device reads and writes by DMA through the IOMMU (bus address = guest-physical). */
struct pt_descriptor {
    unsigned int operation;   /* 0 read, 1 write */
    unsigned int sector;
    unsigned int count;       /* sectors, 1..8 */
    unsigned int buffer;      /* bus address (guest-physical) */
    int status;               /* written by the device: 0 done, -1 error */
};
struct pt_queue {
    volatile unsigned int doorbell;   /* descriptors submitted (free-running): the device's doorbell */
    volatile unsigned int completed;  /* descriptors completed (free-running), written by the device */
    struct pt_descriptor descriptors[32];
};

#endif
