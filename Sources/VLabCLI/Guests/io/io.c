/* The I/O guest: one disk workload, three drivers.
 *
 * It runs as its domain's kernel (virtual M-mode, no paging) under VirtLab's VMM. The VMM
 * passes the workload in registers at entry (like a boot loader's arguments):
 *   a0 path      0 split driver (blkfront over a shared ring, grants and an event channel)
 *                1 emulated controller (vlab-disk: every register access traps to the VMM)
 *                2 pass-through DMA device (vlab-dma behind the IOMMU)
 *   a1 pattern   0 sequential pages, 1 random pages (xorshift32 from a seed of 1)
 *   a2 operation 0 read, 1 write, 2 write then read the whole disk back (the "verify" run)
 *   a3 batch     requests submitted before waiting for their completions (1..32)
 *   a4 requests  4 KiB requests to make
 *   a5 pages     the disk's size in 4 KiB pages
 * Every request moves one 4 KiB page (8 sectors). Written data is a function of the page and
 * of the request's number, so the host can compute the image the run must leave behind
 * (SplitIO's IOWorkload.swift computes the same function). The guest reports a checksum
 * (FNV-1a) of everything it read and stops with exit code 0 when every request succeeded. */
#include "io-abi.h"
#include "blkif.h"   /* the ring and request layouts, shared with the teaching kernel's blkfront */

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

#define RING_SLOTS BLKIF_RING_SLOTS
#define PAGE BLKIF_PAGE

static struct blkif_sring ring __attribute__((section(".bss.pages"), aligned(PAGE)));
static u8 buffers[RING_SLOTS][PAGE] __attribute__((section(".bss.pages"), aligned(PAGE)));
static struct pt_queue pt_queue __attribute__((section(".bss.pages"), aligned(PAGE)));

static u32 buffer_grants[RING_SLOTS];
static u32 req_prod_pvt, rsp_cons, event_port;
static u32 pt_tail;
static int path;
static volatile u32 upcalls;
static int pending_errors;

/* --- hypercalls and the console --- */
static long hypercall(u32 number, u32 arg0, u32 arg1) {
    register long a0 asm("a0") = arg0;
    register long a1 asm("a1") = arg1;
    register long a7 asm("a7") = number;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
    return a0;
}

static void putc_uart(char c) { *(volatile u8 *)0x10000000u = (u8)c; }
static void puts_uart(const char *s) { while (*s) putc_uart(*s++); }
static void puthex(u32 v) {
    puts_uart("0x");
    for (int shift = 28; shift >= 0; shift -= 4) putc_uart("0123456789abcdef"[(v >> shift) & 15]);
}
static void putdec(u32 v) {
    char digits[10]; int n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putc_uart(digits[--n]);
}
static void stop(int code) { hypercall(IO_SHUTDOWN, (u32)code, 0); for (;;) {} }
static void fail(const char *why, long value) {
    puts_uart("io: "); puts_uart(why); puts_uart(" "); puthex((u32)value); putc_uart('\n');
    stop(2);
}

/* The upcall: the event channel's (or the device's) virtual interrupt. Acknowledging clears
 * the interrupt and the pending ports; the drivers look at their rings afterwards anyway. */
void io_trap(u32 cause, u32 epc) {
    if (cause != IO_UPCALL_CAUSE) fail("unexpected trap at", (long)epc);
    hypercall(IO_EVTCHN_ACK, 0, 0);
    upcalls++;
}

/* ------------------------------------------------------------------ split driver (blkfront) */
static void split_setup(void) {
    ring.req_prod = ring.rsp_prod = 0;
    ring.req_event = ring.rsp_event = 1;          /* SHARED_RING_INIT */
    long ring_ref = hypercall(IO_GRANT, (u32)&ring, 0);
    if (ring_ref < 0) fail("cannot grant the ring page:", ring_ref);
    /* Persistent grants (blkif's feature-persistent): each data page is granted once, here,
     * so a request costs no grant hypercall. */
    for (int i = 0; i < RING_SLOTS; i++) {
        long ref = hypercall(IO_GRANT, (u32)buffers[i], 0);
        if (ref < 0) fail("cannot grant a buffer page:", ref);
        buffer_grants[i] = (u32)ref;
    }
    long port = hypercall(IO_EVTCHN_ALLOC, 0, 0);
    if (port < 0) fail("cannot allocate an event port:", port);
    event_port = (u32)port;
    long connected = hypercall(IO_BLK_CONNECT, (u32)ring_ref, event_port);
    if (connected < 0) fail("the backend did not connect:", connected);
}

static void split_submit(int slot, int write, u32 page) {
    struct blkif_request *req = &ring.ring[req_prod_pvt & (RING_SLOTS - 1)].req;
    req->operation = write ? 1 : 0;
    req->nr_segments = 1;
    req->handle = 0;
    req->id = (u64)slot;
    req->sector_number = (u64)page * 8;
    req->seg[0].gref = buffer_grants[slot];
    req->seg[0].first_sect = 0;
    req->seg[0].last_sect = 7;
    req_prod_pvt++;
}

/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, then the doorbell if the backend asked for it. */
static void split_kick(void) {
    u32 old = ring.req_prod, new = req_prod_pvt;
    blkif_write_barrier();
    ring.req_prod = new;
    blkif_full_barrier();
    if (blkif_needs_notify(old, new, ring.req_event)) hypercall(IO_EVTCHN_SEND, event_port, 0);
}

/* Takes responses until `count` arrived, sleeping (RING_FINAL_CHECK_FOR_RESPONSES, then
 * SCHEDOP_block) only when the ring is empty. */
static int split_wait(int count) {
    int got = 0, errors = 0;
    while (got < count) {
        u32 prod = ring.rsp_prod;
        blkif_full_barrier();
        while (rsp_cons != prod && got < count) {
            struct blkif_response *rsp = &ring.ring[rsp_cons & (RING_SLOTS - 1)].rsp;
            if (rsp->status != 0) errors++;
            rsp_cons++;
            got++;
        }
        if (got == count) break;
        ring.rsp_event = rsp_cons + 1;
        blkif_full_barrier();
        if (ring.rsp_prod != rsp_cons) continue;
        if (hypercall(IO_BLOCK, 0, 0) < 0) fail("blocked with no response coming; responses so far", got);
    }
    return errors;
}

/* --------------------------------------------------------- emulated controller (vlab-disk) */
static inline void vdisk_write(u32 reg, u32 value) { *(volatile u32 *)(VDISK_BASE + reg) = value; }
static inline u32 vdisk_read(u32 reg) { return *(volatile u32 *)(VDISK_BASE + reg); }

static void emulated_setup(void) {
    if (vdisk_read(VDISK_MAGIC) != VDISK_MAGIC_VALUE) fail("no vlab-disk controller; magic", (long)vdisk_read(VDISK_MAGIC));
}

/* One request is five register accesses, so five exits; it completes synchronously. */
static void emulated_submit(int slot, int write, u32 page) {
    vdisk_write(VDISK_SECTOR, page * 8);
    vdisk_write(VDISK_BUFFER, (u32)buffers[slot]);
    vdisk_write(VDISK_COUNT, 8);
    vdisk_write(VDISK_COMMAND, write ? 1 : 0);
    if (vdisk_read(VDISK_STATUS) != 0) pending_errors++;
}

/* ------------------------------------------------------ pass-through DMA device (vlab-dma) */
static void passthrough_setup(void) {
    long result = hypercall(IO_PT_ASSIGN, (u32)&pt_queue, 0);
    if (result < 0) fail("no pass-through device:", result);
}

static void passthrough_submit(int slot, int write, u32 page) {
    struct pt_descriptor *d = &pt_queue.descriptors[pt_tail & 31];
    d->operation = write ? 1 : 0;
    d->sector = page * 8;
    d->count = 8;
    d->buffer = (u32)buffers[slot];
    d->status = 1;
    pt_tail++;
}

/* The doorbell is the device's own register: on real hardware a store straight to the device
 * (no exit). Here the device reads it from its queue page whenever it runs. */
static void passthrough_kick(void) {
    blkif_write_barrier();
    pt_queue.doorbell = pt_tail;
}

static int passthrough_wait(int count) {
    int errors = 0;
    while (pt_queue.completed != pt_tail) {
        if (hypercall(IO_BLOCK, 0, 0) < 0) fail("blocked with the device idle; completed", (long)pt_queue.completed);
    }
    blkif_full_barrier();
    for (int i = 0; i < count; i++) {
        if (pt_queue.descriptors[(pt_tail - count + (u32)i) & 31].status != 0) errors++;
    }
    return errors;
}

/* ----------------------------------------------------------------------------- the workload */
static void submit(int slot, int write, u32 page) {
    if (path == 0) split_submit(slot, write, page);
    else if (path == 1) emulated_submit(slot, write, page);
    else passthrough_submit(slot, write, page);
}
static void kick(void) {
    if (path == 0) split_kick();
    else if (path == 2) passthrough_kick();
}
static int wait_for(int count) {
    if (path == 0) return split_wait(count);
    if (path == 2) return passthrough_wait(count);
    int errors = pending_errors;
    pending_errors = 0;
    return errors;
}

/* The data written to `page` by write request number `request` (IOWorkload.pattern in Swift). */
static void fill(u32 *words, u32 page, u32 request) {
    for (u32 w = 0; w < PAGE / 4; w++) {
        u32 x = (page * 0x01000193u) ^ (request * 0x9E3779B9u) ^ (w * 0x85EBCA6Bu);
        words[w] = x ^ (x >> 13);
    }
}

static u32 checksum = 0x811C9DC5u;   /* FNV-1a over every byte read, in request order */
static void absorb(const u8 *bytes) {
    for (int i = 0; i < PAGE; i++) { checksum ^= bytes[i]; checksum *= 0x01000193u; }
}

static u32 random_state = 1;
static u32 next_page(int pattern, u32 index, u32 pages) {
    if (pattern == 0) return index % pages;
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    return random_state % pages;
}

/* Runs `requests` requests of one kind in batches; returns the number that failed. */
static int run(int pattern, int write, u32 batch, u32 requests, u32 pages, u32 *write_number) {
    int errors = 0;
    for (u32 done = 0; done < requests; ) {
        u32 n = requests - done < batch ? requests - done : batch;
        for (u32 i = 0; i < n; i++) {
            u32 page = next_page(pattern, done + i, pages);
            if (write) fill((u32 *)buffers[i], page, (*write_number)++);
            submit((int)i, write, page);
        }
        kick();
        errors += wait_for((int)n);
        if (!write) for (u32 i = 0; i < n; i++) absorb(buffers[i]);
        done += n;
    }
    return errors;
}

void io_main(u32 io_path, u32 pattern, u32 operation, u32 batch, u32 requests, u32 pages) {
    path = (int)io_path;
    if (path > 2 || pattern > 1 || operation > 2 || batch < 1 || batch > RING_SLOTS || pages == 0)
        fail("bad workload arguments; path", (long)io_path);
    /* The upcall arrives as the supervisor external interrupt (mie.SEIE, mstatus.MIE). */
    asm volatile("csrs mie, %0" :: "r"(1u << 9));
    asm volatile("csrs mstatus, %0" :: "r"(1u << 3));
    if (path == 0) split_setup();
    else if (path == 1) emulated_setup();
    else passthrough_setup();

    u32 write_number = 0;
    int errors;
    hypercall(IO_MARK, 0, 0);
    if (operation == 2) {
        errors = run((int)pattern, 1, batch, requests, pages, &write_number);
        errors += run(0, 0, batch, pages, pages, &write_number);
    } else {
        errors = run((int)pattern, (int)operation, batch, requests, pages, &write_number);
    }
    hypercall(IO_MARK, 1, checksum);

    puts_uart("io: path "); putdec(io_path); puts_uart(", "); putdec(requests); puts_uart(" requests, ");
    putdec((u32)errors); puts_uart(" errors, "); putdec(upcalls); puts_uart(" upcalls, checksum ");
    puthex(checksum); putc_uart('\n');
    stop(errors ? 1 : 0);
}
