/* blkif.h: the block protocol of the split driver, shared by every blkfront VirtLab ships (the I/O
 * guest's io.c and the teaching kernel's para-virtual build, ../kernel/kernel.c).
 *
 * The layouts are Xen's public/io/blkif.h and io/ring.h as RV32 C lays them out; SplitIO's
 * BlockLayoutTests checks them against riscv64-unknown-elf-gcc, and Sources/SplitIO/README.md
 * describes them field by field. The hypercalls that set a ring up (grants, event channels,
 * IO_BLK_CONNECT) are in io-abi.h. */
#ifndef BLKIF_H
#define BLKIF_H

#define BLKIF_RING_SLOTS 32     /* 112-byte slots after a 64-byte header: 36 fit, a power of two: 32 */
#define BLKIF_PAGE 4096
#define BLKIF_SECTOR 512
#define BLKIF_SECTORS_PER_PAGE 8

#define BLKIF_OP_READ  0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_FLUSH 3        /* BLKIF_OP_FLUSH_DISKCACHE: carries no segments */
#define BLKIF_RSP_OKAY 0

/* One segment: sectors first_sect..last_sect (0..7) of the page behind grant `gref`. */
struct blkif_segment { unsigned int gref; unsigned char first_sect, last_sect; unsigned short pad; };
struct blkif_request {
    unsigned char operation; unsigned char nr_segments; unsigned short handle; unsigned int pad;
    unsigned long long id; unsigned long long sector_number; struct blkif_segment seg[11];
};
struct blkif_response { unsigned long long id; unsigned char operation; unsigned char pad; short status; unsigned int pad2; };
union blkif_slot { struct blkif_request req; struct blkif_response rsp; };

/* The shared page: producer indices and event thresholds, then the slots. Indices run freely and
 * wrap at 2^32; slot = index & (BLKIF_RING_SLOTS - 1). */
struct blkif_sring {
    volatile unsigned int req_prod, req_event, rsp_prod, rsp_event;
    unsigned char pad[48];
    union blkif_slot ring[BLKIF_RING_SLOTS];
};

/* ring.h's barriers: entries before the index that publishes them (write), and the index before
 * reading the other side's event threshold (full). */
static inline void blkif_write_barrier(void) { asm volatile("fence w, w" ::: "memory"); }
static inline void blkif_full_barrier(void) { asm volatile("fence rw, rw" ::: "memory"); }

/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY's test: after publishing requests old..new, notify only if
 * the backend's req_event lies in (old, new]. */
static inline int blkif_needs_notify(unsigned int old, unsigned int new, unsigned int event) {
    return (unsigned int)(new - event) < (unsigned int)(new - old);
}

#endif
