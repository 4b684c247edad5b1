/* blkfront.c: the para-virtual kernel's block frontend, the guest half of Xen's split block
 * driver. kernel.c includes it in the KERNEL_PARAVIRTUAL build only (as firmware.c includes
 * hypervisor.c), so it uses the kernel's print, hypercall and allocate_page; kernel.elf and
 * kernel-bt.elf do not contain it.
 *
 * The protocol is the I/O guest's (../io/io.c): the request and ring layouts of blkif.h, set up
 * with the I/O hypercalls of io-abi.h, served by Dom0's BlockBackend (Sources/SplitIO). At boot the
 * kernel asks whether it has a disk (IO_BLK_PROBE). The bare firmware, QEMU and a VMM without a
 * disk for this domain answer -2, and the kernel prints nothing more than kernel.elf does.
 * With a disk it connects a ring and checks the disk in four requests:
 *   1. READ sectors 0-7 into page A, and remember an FNV-1a checksum of them;
 *   2. WRITE the complement of every byte (page B, granted read-only) to sectors 8-15, as two
 *      segments of the same page (sectors 0-3 and 4-7 of B), to exercise multi-segment requests;
 *   3. FLUSH;
 *   4. READ sectors 8-15 into page C, which must equal B.
 * and prints one line with the size, the checksum and the verdict. The host can compute both the
 * line and the resulting image from the image it attached.
 *
 * The kernel takes no interrupts (it runs with them off, see kernel.c), so the upcall the backend
 * raises (mip.SEIP) is never taken: the frontend sleeps in IO_BLOCK and then clears the upcall
 * with IO_EVTCHN_ACK itself. */
#include "../io/io-abi.h"
#include "../io/blkif.h"

#define BLK_NO_RESPONSE (-100)   /* IO_BLOCK said no response can come (the backend disconnected us) */

static struct blkif_sring *blk_ring;
static u32 blk_req_prod_pvt, blk_rsp_cons, blk_port;

/* Submits one request and waits for its response; returns the response's status (0 = okay).
 * `segments` pairs of (grant, first sector, last sector) follow each other on the disk. */
static long blk_request(u32 operation, u32 sector, u32 segments, const struct blkif_segment *segment) {
    struct blkif_request *req = &blk_ring->ring[blk_req_prod_pvt & (BLKIF_RING_SLOTS - 1)].req;
    req->operation = (unsigned char)operation;
    req->nr_segments = (unsigned char)segments;
    req->handle = 0;
    req->pad = 0;
    req->id = blk_req_prod_pvt;
    req->sector_number = sector;
    for (u32 i = 0; i < segments; i++) req->seg[i] = segment[i];

    /* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: entries, then the index, then look at req_event. */
    u32 old = blk_ring->req_prod, new = ++blk_req_prod_pvt;
    blkif_write_barrier();
    blk_ring->req_prod = new;
    blkif_full_barrier();
    if (blkif_needs_notify(old, new, blk_ring->req_event)) hypercall(IO_EVTCHN_SEND, blk_port, 0, 0);

    for (;;) {
        if (blk_ring->rsp_prod != blk_rsp_cons) {
            blkif_full_barrier();   /* the index before the entry it covers */
            struct blkif_response *rsp = &blk_ring->ring[blk_rsp_cons & (BLKIF_RING_SLOTS - 1)].rsp;
            long status = rsp->id == new - 1 && rsp->operation == operation ? rsp->status : -1;
            blk_rsp_cons++;
            return status;
        }
        /* RING_FINAL_CHECK_FOR_RESPONSES: ask to be woken, then look once more before sleeping. */
        blk_ring->rsp_event = blk_rsp_cons + 1;
        blkif_full_barrier();
        if (blk_ring->rsp_prod != blk_rsp_cons) continue;
        if (hypercall(IO_BLOCK, 0, 0, 0) < 0) return BLK_NO_RESPONSE;
        hypercall(IO_EVTCHN_ACK, 0, 0, 0);
    }
}

static u32 fnv1a(const unsigned char *bytes, u32 count) {
    u32 hash = 0x811C9DC5u;
    for (u32 i = 0; i < count; i++) { hash ^= bytes[i]; hash *= 0x01000193u; }
    return hash;
}

/* The ring page granted read-write, an event port offered to Dom0, and IO_BLK_CONNECT (what
 * xenstore's ring-ref and event-channel keys carry in Xen). Returns 0 or the failing call's error. */
static long blk_connect(const char **failed) {
    blk_ring = allocate_page();
    blk_ring->req_event = blk_ring->rsp_event = 1;   /* SHARED_RING_INIT (the page is zeroed) */
    long ring_ref = hypercall(IO_GRANT, (long)blk_ring, 0, 0);
    if (ring_ref < 0) { *failed = "grant the ring page"; return ring_ref; }
    long port = hypercall(IO_EVTCHN_ALLOC, 0, 0, 0);
    if (port < 0) { *failed = "allocate an event port"; return port; }
    blk_port = (u32)port;
    long connected = hypercall(IO_BLK_CONNECT, ring_ref, port, 0);
    if (connected < 0) { *failed = "connect to the backend"; return connected; }
    return 0;
}

static void blkfront_init(void) {
    long sectors = hypercall(IO_BLK_PROBE, 0, 0, 0);
    if (sectors < 0) return;   /* no disk: print nothing, as kernel.elf */
    if (sectors < 16) {
        print("kernel: disk: %u sectors, too small for the check (16 needed)\n", (u32)sectors);
        return;
    }
    const char *failed = 0;
    long error = blk_connect(&failed);
    if (error < 0) { print("kernel: disk: cannot %s (error %d)\n", failed, (u32)error); return; }

    unsigned char *a = allocate_page(), *b = allocate_page(), *c = allocate_page();
    long grant_a = hypercall(IO_GRANT, (long)a, 0, 0);
    long grant_b = hypercall(IO_GRANT, (long)b, 1, 0);   /* read-only: the backend only reads it */
    long grant_c = hypercall(IO_GRANT, (long)c, 0, 0);
    if (grant_a < 0 || grant_b < 0 || grant_c < 0) {
        print("kernel: disk: cannot grant the data pages (error %d)\n", (u32)(grant_a < 0 ? grant_a : grant_b < 0 ? grant_b : grant_c));
        return;
    }
    struct blkif_segment whole_a = { (u32)grant_a, 0, 7, 0 }, whole_c = { (u32)grant_c, 0, 7, 0 };
    struct blkif_segment halves_b[2] = { { (u32)grant_b, 0, 3, 0 }, { (u32)grant_b, 4, 7, 0 } };

    const char *step = "read of sectors 0-7";
    long status = blk_request(BLKIF_OP_READ, 0, 1, &whole_a);
    u32 checksum = fnv1a(a, BLKIF_PAGE);
    if (status == 0) {
        for (u32 i = 0; i < BLKIF_PAGE; i++) b[i] = (unsigned char)~a[i];
        step = "write of sectors 8-15";
        status = blk_request(BLKIF_OP_WRITE, 8, 2, halves_b);
    }
    if (status == 0) { step = "flush"; status = blk_request(BLKIF_OP_FLUSH, 0, 0, 0); }
    if (status == 0) { step = "read of sectors 8-15"; status = blk_request(BLKIF_OP_READ, 8, 1, &whole_c); }

    /* Nobody has the data pages mapped between requests: the grants can end. */
    hypercall(IO_GRANT_END, grant_a, 0, 0);
    hypercall(IO_GRANT_END, grant_b, 0, 0);
    hypercall(IO_GRANT_END, grant_c, 0, 0);
    if (status != 0) {
        print("kernel: disk: the %s failed (status %d)\n", step, (u32)status);
        return;
    }
    int same = 1;
    for (u32 i = 0; i < BLKIF_PAGE; i++) if (c[i] != b[i]) same = 0;
    print("kernel: disk: %u sectors, sectors 0-7 read (FNV-1a 0x%x), complement written to 8-15, flushed, "
          "read back %s\n", (u32)sectors, checksum, same ? "intact" : "DIFFERENT");
}
