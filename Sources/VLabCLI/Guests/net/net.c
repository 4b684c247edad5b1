/* The network guest: a netfront and two small network programs (ping and a bulk transfer).
 *
 * It runs as its domain's kernel (virtual M-mode, no paging) under VirtLab's VMM, with one vif
 * on Dom0's bridge. Arguments in registers at entry:
 *   a0 role    0 ping client, 1 ping responder, 2 bulk sender, 3 bulk receiver,
 *              4 deaf (connects, never posts an RX buffer, never sends),
 *              5 hostile (an event storm, then a TX request running past its page)
 *   a1 count   echo requests (ping) or bytes to stream (bulk)
 *   a2 size    ICMP payload bytes (0..1472) or data bytes per bulk frame (1..1492)
 *   a3 window  bulk frames the sender may have unacknowledged (1..64)
 *   a4 own     this domain's number k: MAC 02:00:00:00:00:k, IPv4 10.0.0.k
 *   a5 peer    the other domain's number
 * Both sides first resolve each other with ARP (a broadcast: the bridge floods it). Ping sends
 * real ICMP echo requests in IPv4, one at a time, and checks every reply. Bulk streams
 * EtherType 0x88B5 frames (seq, offset, data) and the receiver acknowledges with 0x88B6 frames
 * (frames received so far) every window/2 frames and at the end. Each side reports FNV-1a of
 * the payload bytes it saw (SplitIO's NetWorkload.swift computes the expected values) and stops
 * with exit code 0 when everything checked out. */
#include "net-abi.h"

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define PAGE 4096
#define RING_SLOTS 256       /* both rings: (4096 - 64) / 12 and / 8, rounded down to a power of two */
#define TX_BUFFERS 32
#define RX_BUFFERS 64

/* --- netif.h, as RV32 C lays it out (SplitIO's NetLayoutTests checks it against gcc) --- */
struct netif_tx_request { u32 gref; u16 offset, flags, id, size; };
struct netif_tx_response { u16 id; short status; };
struct netif_rx_request { u16 id; u16 pad; u32 gref; };
struct netif_rx_response { u16 id, offset, flags; short status; };
union tx_slot { struct netif_tx_request req; struct netif_tx_response rsp; };
union rx_slot { struct netif_rx_request req; struct netif_rx_response rsp; };
struct tx_sring { volatile u32 req_prod, req_event, rsp_prod, rsp_event; u8 pad[48]; union tx_slot ring[RING_SLOTS]; };
struct rx_sring { volatile u32 req_prod, req_event, rsp_prod, rsp_event; u8 pad[48]; union rx_slot ring[RING_SLOTS]; };

static struct tx_sring tx_ring __attribute__((section(".bss.pages"), aligned(PAGE)));
static struct rx_sring rx_ring __attribute__((section(".bss.pages"), aligned(PAGE)));
static u8 tx_buffers[TX_BUFFERS][PAGE] __attribute__((section(".bss.pages"), aligned(PAGE)));
static u8 rx_buffers[RX_BUFFERS][PAGE] __attribute__((section(".bss.pages"), aligned(PAGE)));

static u32 tx_grants[TX_BUFFERS], rx_grants[RX_BUFFERS];
static u16 tx_free[TX_BUFFERS];
static int tx_free_count;
static u32 tx_prod_pvt, tx_rsp_cons, rx_prod_pvt, rx_rsp_cons, event_port;
static volatile u32 upcalls;
static u32 tx_errors, rx_errors, bad_frames;

static int role;
static u32 count, size, window;
static u8 own_mac[6], peer_mac[6];
static u32 own_ip, peer_ip;
static int peer_resolved;

/* --- hypercalls and the console --- */
static long hypercall(u32 number, u32 arg0, u32 arg1, u32 arg2) {
    register long a0 asm("a0") = arg0;
    register long a1 asm("a1") = arg1;
    register long a2 asm("a2") = arg2;
    register long a7 asm("a7") = number;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
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
static void stop(int code) { hypercall(IO_SHUTDOWN, (u32)code, 0, 0); for (;;) {} }
static void fail(const char *why, long value) {
    puts_uart("net: "); puts_uart(why); puts_uart(" "); puthex((u32)value); putc_uart('\n');
    stop(2);
}

void net_trap(u32 cause, u32 epc) {
    if (cause != IO_UPCALL_CAUSE) fail("unexpected trap at", (long)epc);
    hypercall(IO_EVTCHN_ACK, 0, 0, 0);
    upcalls++;
}

static inline void write_barrier(void) { asm volatile("fence w, w" ::: "memory"); }
static inline void full_barrier(void) { asm volatile("fence rw, rw" ::: "memory"); }

static void copy(u8 *to, const u8 *from, u32 n) { while (n--) *to++ = *from++; }
static int same(const u8 *a, const u8 *b, u32 n) { while (n--) if (*a++ != *b++) return 0; return 1; }
static u16 get16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }   /* network byte order */
static u32 get32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static void put16(u8 *p, u32 v) { p[0] = (u8)(v >> 8); p[1] = (u8)v; }
static void put32(u8 *p, u32 v) { p[0] = (u8)(v >> 24); p[1] = (u8)(v >> 16); p[2] = (u8)(v >> 8); p[3] = (u8)v; }

static u32 checksum = 0x811C9DC5u;   /* FNV-1a over the payload bytes this side saw */
static void absorb(u8 byte) { checksum ^= byte; checksum *= 0x01000193u; }

/* ------------------------------------------------------------------------------ netfront */
/* RING_PUSH_REQUESTS_AND_CHECK_NOTIFY on either ring: publish, then ring the doorbell only if
 * the backend's req_event lies in (old, new]. */
static void push(volatile u32 *req_prod, volatile u32 *req_event, u32 new) {
    u32 old = *req_prod;
    write_barrier();
    *req_prod = new;
    full_barrier();
    if ((u32)(new - *req_event) < (u32)(new - old)) hypercall(IO_EVTCHN_SEND, event_port, 0, 0);
}

static void rx_post(u16 id) {
    struct netif_rx_request *req = &rx_ring.ring[rx_prod_pvt & (RING_SLOTS - 1)].req;
    req->id = id;
    req->pad = 0;
    req->gref = rx_grants[id];
    rx_prod_pvt++;
}

static void net_setup(int post_receive_buffers) {
    tx_ring.req_prod = tx_ring.rsp_prod = rx_ring.req_prod = rx_ring.rsp_prod = 0;
    tx_ring.req_event = tx_ring.rsp_event = rx_ring.req_event = rx_ring.rsp_event = 1;
    long tx_ref = hypercall(IO_GRANT, (u32)&tx_ring, 0, 0);
    long rx_ref = hypercall(IO_GRANT, (u32)&rx_ring, 0, 0);
    if (tx_ref < 0 || rx_ref < 0) fail("cannot grant the ring pages:", tx_ref < 0 ? tx_ref : rx_ref);
    /* Persistent grants: every buffer page is granted once; TX pages read-only (Dom0 only reads
     * them), RX pages read-write (Dom0 copies frames into them). */
    for (int i = 0; i < TX_BUFFERS; i++) {
        long ref = hypercall(IO_GRANT, (u32)tx_buffers[i], 1, 0);
        if (ref < 0) fail("cannot grant a TX page:", ref);
        tx_grants[i] = (u32)ref;
        tx_free[tx_free_count++] = (u16)i;
    }
    for (int i = 0; i < RX_BUFFERS; i++) {
        long ref = hypercall(IO_GRANT, (u32)rx_buffers[i], 0, 0);
        if (ref < 0) fail("cannot grant an RX page:", ref);
        rx_grants[i] = (u32)ref;
    }
    long port = hypercall(IO_EVTCHN_ALLOC, 0, 0, 0);
    if (port < 0) fail("cannot allocate an event port:", port);
    event_port = (u32)port;
    long connected = hypercall(NET_CONNECT, (u32)tx_ref, (u32)rx_ref, event_port);
    if (connected < 0) fail("the backend did not connect:", connected);
    if (post_receive_buffers) {
        for (u16 i = 0; i < RX_BUFFERS; i++) rx_post(i);
        push(&rx_ring.req_prod, &rx_ring.req_event, rx_prod_pvt);
    }
}

/* A free TX page for the next frame (the caller fills it and calls tx_queue), or 0. */
static u8 *tx_buffer(void) { return tx_free_count ? tx_buffers[tx_free[tx_free_count - 1]] : 0; }

static void tx_queue(u32 length) {
    u16 id = tx_free[--tx_free_count];
    struct netif_tx_request *req = &tx_ring.ring[tx_prod_pvt & (RING_SLOTS - 1)].req;
    req->gref = tx_grants[id];
    req->offset = 0;
    req->flags = 0;
    req->id = id;
    req->size = (u16)length;
    tx_prod_pvt++;
}

static void tx_kick(void) { push(&tx_ring.req_prod, &tx_ring.req_event, tx_prod_pvt); }

/* TX completions: the pages are free again. */
static int tx_reap(void) {
    int got = 0;
    u32 prod = tx_ring.rsp_prod;
    full_barrier();
    while (tx_rsp_cons != prod) {
        struct netif_tx_response *rsp = &tx_ring.ring[tx_rsp_cons & (RING_SLOTS - 1)].rsp;
        if (rsp->status != 0) tx_errors++;
        if (rsp->id < TX_BUFFERS) tx_free[tx_free_count++] = rsp->id;
        tx_rsp_cons++;
        got++;
    }
    return got;
}

static void handle_frame(const u8 *frame, u32 length);

/* Received frames: hand each to the program, then post its page again. */
static int rx_poll(void) {
    int got = 0;
    u32 prod = rx_ring.rsp_prod;
    full_barrier();
    while (rx_rsp_cons != prod) {
        struct netif_rx_response *rsp = &rx_ring.ring[rx_rsp_cons & (RING_SLOTS - 1)].rsp;
        u16 id = rsp->id;
        if (id >= RX_BUFFERS) fail("RX response for an unknown buffer:", id);
        if (rsp->status > 0 && rsp->offset + (u32)rsp->status <= PAGE) handle_frame(rx_buffers[id] + rsp->offset, (u32)rsp->status);
        else rx_errors++;
        rx_post(id);
        rx_rsp_cons++;
        got++;
    }
    if (got) push(&rx_ring.req_prod, &rx_ring.req_event, rx_prod_pvt);
    return got;
}

/* Waits for an event: SCHEDOP_block until the upcall has run. Block returns 1 after the VMM ran
 * the other domains and an event woke us (the upcall is taken as the hypercall returns), or 0 at
 * once when one was already on its way; either way the handler has counted it, and the loop only
 * blocks again if something else woke us. `seen` is the upcall count before we last looked. */
static void idle(u32 seen) {
    while (upcalls == seen) {
        long result = hypercall(IO_BLOCK, 0, 0, 0);
        if (result < 0) fail("cannot block:", result);
    }
}

/* One round of the event loop: take what the backend answered, and sleep (after the final check,
 * RING_FINAL_CHECK_FOR_RESPONSES) only if there was nothing. */
static void step(void) {
    u32 seen = upcalls;
    if (tx_reap() + rx_poll()) return;
    /* TX completions only matter when we are out of TX pages (netfront reclaims them lazily
     * otherwise): asking for them always would cost an upcall per frame sent. */
    if (!tx_free_count) tx_ring.rsp_event = tx_rsp_cons + 1;
    rx_ring.rsp_event = rx_rsp_cons + 1;
    full_barrier();
    if (tx_ring.rsp_prod != tx_rsp_cons || rx_ring.rsp_prod != rx_rsp_cons) return;
    idle(seen);
}

/* A TX page, waiting for completions if all are in flight. */
static u8 *next_tx_buffer(void) {
    /* The backend answers every TX request on the kick that published it, so reaping normally
     * frees a page; only then fall back to waiting. */
    if (!tx_buffer()) tx_reap();
    while (!tx_buffer()) step();
    return tx_buffer();
}

/* ------------------------------------------------------------------------------ Ethernet */
static u32 ethernet(u8 *frame, const u8 *to, u32 type) {
    copy(frame, to, 6);
    copy(frame + 6, own_mac, 6);
    put16(frame + 12, type);
    return 14;
}

/* ARP (RFC 826) for IPv4 over Ethernet: operation 1 request, 2 reply. */
static void arp_send(u32 operation, const u8 *to_mac, u32 to_ip) {
    static const u8 broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const u8 unknown[6] = { 0 };
    u8 *frame = next_tx_buffer();
    u8 *arp = frame + ethernet(frame, operation == 1 ? broadcast : to_mac, 0x0806);
    put16(arp, 1); put16(arp + 2, 0x0800); arp[4] = 6; arp[5] = 4; put16(arp + 6, operation);
    copy(arp + 8, own_mac, 6); put32(arp + 14, own_ip);
    copy(arp + 18, operation == 1 ? unknown : to_mac, 6); put32(arp + 24, to_ip);
    tx_queue(14 + 28);
    tx_kick();
}

static void arp_receive(const u8 *arp, u32 length) {
    if (length < 28 || get16(arp) != 1 || get16(arp + 2) != 0x0800 || arp[4] != 6 || arp[5] != 4) { bad_frames++; return; }
    u32 operation = get16(arp + 6), sender_ip = get32(arp + 14), target_ip = get32(arp + 24);
    if (target_ip != own_ip) return;                 /* not for us: a switch floods requests everywhere */
    if (sender_ip == peer_ip) {                      /* the merge step: remember who asked or answered */
        copy(peer_mac, arp + 8, 6);
        peer_resolved = 1;
    }
    if (operation == 1) arp_send(2, arp + 8, sender_ip);
}

static void resolve_peer(void) {
    arp_send(1, 0, peer_ip);
    while (!peer_resolved) step();
}

/* ------------------------------------------------------------------- IPv4 and ICMP echo */
static u32 internet_checksum(const u8 *bytes, u32 length) {
    u32 sum = 0;
    for (u32 i = 0; i + 1 < length; i += 2) sum += get16(bytes + i);
    if (length & 1) sum += (u32)bytes[length - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

#define ECHO_ID 0x564C   /* "VL" */
static u32 echo_replies, echo_answered;

static u8 ping_byte(u32 sequence, u32 index) { return (u8)(index + sequence * 7); }

/* An echo request (type 8) or reply (type 0) of `payload` bytes from us to the peer. */
static void icmp_send(u32 type, u32 sequence, const u8 *payload, u32 payload_size) {
    u8 *frame = next_tx_buffer();
    u8 *ip = frame + ethernet(frame, peer_mac, 0x0800);
    u8 *icmp = ip + 20;
    ip[0] = 0x45; ip[1] = 0; put16(ip + 2, 28 + payload_size); put16(ip + 4, sequence); put16(ip + 6, 0x4000);
    ip[8] = 64; ip[9] = 1; put16(ip + 10, 0); put32(ip + 12, own_ip); put32(ip + 16, peer_ip);
    put16(ip + 10, internet_checksum(ip, 20));
    icmp[0] = (u8)type; icmp[1] = 0; put16(icmp + 2, 0); put16(icmp + 4, ECHO_ID); put16(icmp + 6, sequence);
    for (u32 i = 0; i < payload_size; i++) icmp[8 + i] = payload ? payload[i] : ping_byte(sequence, i);
    put16(icmp + 2, internet_checksum(icmp, 8 + payload_size));
    tx_queue(14 + 28 + payload_size);
    tx_kick();
}

static void ipv4_receive(const u8 *ip, u32 length) {
    if (length < 28 || ip[0] != 0x45 || internet_checksum(ip, 20) != 0 || ip[9] != 1 || get32(ip + 16) != own_ip ||
        get16(ip + 2) > length || get16(ip + 2) < 28) { bad_frames++; return; }
    u32 icmp_length = get16(ip + 2) - 20;
    const u8 *icmp = ip + 20;
    if (internet_checksum(icmp, icmp_length) != 0 || get16(icmp + 4) != ECHO_ID) { bad_frames++; return; }
    u32 sequence = get16(icmp + 6), payload_size = icmp_length - 8;
    if (icmp[0] == 8 && role == 1) {
        for (u32 i = 0; i < payload_size; i++) absorb(icmp[8 + i]);
        icmp_send(0, sequence, icmp + 8, payload_size);
        echo_answered++;
    } else if (icmp[0] == 0 && role == 0 && sequence == echo_replies + 1 && payload_size == size) {
        for (u32 i = 0; i < payload_size; i++) {
            if (icmp[8 + i] != ping_byte(sequence, i)) { bad_frames++; return; }
        }
        for (u32 i = 0; i < payload_size; i++) absorb(icmp[8 + i]);
        echo_replies++;
    } else {
        bad_frames++;
    }
}

/* ------------------------------------------------------------------------- bulk transfer */
#define BULK_DATA 0x88B5
#define BULK_ACK  0x88B6
static u32 bulk_frames_sent, bulk_bytes_sent, bulk_acked;          /* sender */
static u32 bulk_frames_received, bulk_bytes_received, out_of_order; /* receiver */

static u8 stream_byte(u32 index) { return (u8)((index * 31u) ^ (index >> 9)); }

static void bulk_send_data(void) {
    u8 *frame = next_tx_buffer();
    u8 *header = frame + ethernet(frame, peer_mac, BULK_DATA);
    u32 n = count - bulk_bytes_sent < size ? count - bulk_bytes_sent : size;
    put32(header, bulk_frames_sent);
    put32(header + 4, bulk_bytes_sent);
    for (u32 i = 0; i < n; i++) {
        u8 byte = stream_byte(bulk_bytes_sent + i);
        header[8 + i] = byte;
        absorb(byte);
    }
    tx_queue(14 + 8 + n);
    bulk_frames_sent++;
    bulk_bytes_sent += n;
}

static void bulk_send_ack(void) {
    u8 *frame = next_tx_buffer();
    put32(frame + ethernet(frame, peer_mac, BULK_ACK), bulk_frames_received);
    tx_queue(14 + 4);
    tx_kick();
}

static void bulk_receive(const u8 *header, u32 length) {
    if (length < 8 || role != 3) { bad_frames++; return; }
    u32 sequence = get32(header), offset = get32(header + 4), n = length - 8;
    if (sequence != bulk_frames_received || offset != bulk_bytes_received || n > count - offset) { out_of_order++; return; }
    for (u32 i = 0; i < n; i++) {
        if (header[8 + i] != stream_byte(offset + i)) { bad_frames++; return; }
    }
    for (u32 i = 0; i < n; i++) absorb(header[8 + i]);
    bulk_frames_received++;
    bulk_bytes_received += n;
    u32 every = window / 2 ? window / 2 : 1;
    if (bulk_frames_received % every == 0 || bulk_bytes_received == count) bulk_send_ack();
}

static void handle_frame(const u8 *frame, u32 length) {
    if (length < 14) { bad_frames++; return; }
    /* Not for us (a flooded unicast, a multicast we never joined): a NIC drops these silently. */
    if (!same(frame, own_mac, 6) && !(frame[0] == 0xff && same(frame, frame + 1, 5))) return;
    u32 type = get16(frame + 12);
    if (type == 0x0806) arp_receive(frame + 14, length - 14);
    else if (type == 0x0800) ipv4_receive(frame + 14, length - 14);
    else if (type == BULK_DATA) bulk_receive(frame + 14, length - 14);
    else if (type == BULK_ACK && role == 2 && length >= 18) { u32 acked = get32(frame + 14); if (acked > bulk_acked) bulk_acked = acked; }
    else bad_frames++;
}

/* ------------------------------------------------------------------------------- programs */
static void ping_client(void) {
    resolve_peer();
    hypercall(IO_MARK, 0, 0, 0);
    for (u32 sequence = 1; sequence <= count; sequence++) {
        icmp_send(8, sequence, 0, size);
        while (echo_replies < sequence) step();
    }
    hypercall(IO_MARK, 1, checksum, 0);
    puts_uart("net: ping 10.0.0."); putdec(peer_ip & 0xff); puts_uart(": "); putdec(count); puts_uart(" sent, ");
    putdec(echo_replies); puts_uart(" received, "); putdec(bad_frames); puts_uart(" bad frames, checksum ");
    puthex(checksum); putc_uart('\n');
}

static void ping_responder(void) {
    resolve_peer();
    hypercall(IO_MARK, 0, 0, 0);
    while (echo_answered < count) step();
    hypercall(IO_MARK, 1, checksum, 0);
    puts_uart("net: answered "); putdec(echo_answered); puts_uart(" echo requests, "); putdec(bad_frames);
    puts_uart(" bad frames, checksum "); puthex(checksum); putc_uart('\n');
}

static void bulk_sender(void) {
    u32 frames = (count + size - 1) / size;
    resolve_peer();
    hypercall(IO_MARK, 0, 0, 0);
    while (bulk_acked < frames) {
        int queued = 0;
        while (bulk_bytes_sent < count && bulk_frames_sent - bulk_acked < window && tx_buffer()) {
            bulk_send_data();
            queued++;
        }
        if (queued) tx_kick();
        else step();
    }
    hypercall(IO_MARK, 1, checksum, 0);
    puts_uart("net: sent "); putdec(bulk_bytes_sent); puts_uart(" bytes in "); putdec(bulk_frames_sent);
    puts_uart(" frames, "); putdec(tx_errors); puts_uart(" TX errors, checksum "); puthex(checksum); putc_uart('\n');
}

static void bulk_receiver(void) {
    resolve_peer();
    hypercall(IO_MARK, 0, 0, 0);
    while (bulk_bytes_received < count) step();
    hypercall(IO_MARK, 1, checksum, 0);
    puts_uart("net: received "); putdec(bulk_bytes_received); puts_uart(" bytes in "); putdec(bulk_frames_received);
    puts_uart(" frames, "); putdec(out_of_order); puts_uart(" out of order, "); putdec(bad_frames);
    puts_uart(" bad frames, checksum "); puthex(checksum); putc_uart('\n');
}

/* The hostile frontend: 1000 notifications with nothing on the ring, then a TX request whose
 * frame would run past the end of its page, which netback answers by disconnecting the vif. */
static void hostile(void) {
    for (int i = 0; i < 1000; i++) hypercall(IO_EVTCHN_SEND, event_port, 0, 0);
    struct netif_tx_request *req = &tx_ring.ring[tx_prod_pvt & (RING_SLOTS - 1)].req;
    req->gref = tx_grants[0];
    req->offset = 4000;
    req->flags = 0;
    req->id = 0;
    req->size = 200;
    tx_prod_pvt++;
    tx_kick();
    long after = hypercall(IO_EVTCHN_SEND, event_port, 0, 0);
    puts_uart("net: hostile: 1000 events and a frame past its page; sending now returns ");
    putdec((u32)-after); puts_uart(after < 0 ? " (negative)\n" : " (positive)\n");
}

void net_main(u32 a_role, u32 a_count, u32 a_size, u32 a_window, u32 own, u32 peer) {
    role = (int)a_role; count = a_count; size = a_size; window = a_window;
    if (role > 5 || own == 0 || own > 254 || peer == 0 || peer > 254 || own == peer) fail("bad arguments; role", (long)a_role);
    if ((role == 0 || role == 1) && size > 1472) fail("ping payload too large:", (long)size);
    if ((role == 2 || role == 3) && (size == 0 || size > 1492 || window == 0 || window > RX_BUFFERS)) fail("bad bulk frame size or window:", (long)size);
    u8 mac[6] = { 0x02, 0, 0, 0, 0, (u8)own };
    copy(own_mac, mac, 6);
    own_ip = 0x0A000000u | own;
    peer_ip = 0x0A000000u | peer;
    /* The upcall arrives as the supervisor external interrupt (mie.SEIE, mstatus.MIE). */
    asm volatile("csrs mie, %0" :: "r"(1u << 9));
    asm volatile("csrs mstatus, %0" :: "r"(1u << 3));
    net_setup(role != 4);
    if (role == 4) {
        puts_uart("net: deaf: connected, posting no RX buffers\n");
        for (;;) idle(upcalls);
    }
    if (role == 5) {
        hostile();
        stop(0);
    }
    if (role == 0) ping_client();
    else if (role == 1) ping_responder();
    else if (role == 2) bulk_sender();
    else bulk_receiver();
    int bad = bad_frames || tx_errors || rx_errors || out_of_order ||
              (role == 0 && echo_replies != count) || (role == 3 && bulk_bytes_received != count);
    stop(bad ? 1 : 0);
}
