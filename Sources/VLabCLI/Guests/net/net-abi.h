/* The network guest's interface to the VMM (SplitIO's NetHost). It uses the I/O guest's
 * hypercalls (../io/io-abi.h: grants, event channels, block, mark, shutdown) with one addition.
 * The Swift side is Sources/SplitIO/Net/NetHost.swift; the numbers must match.
 *
 * IO_BLOCK differs in meaning for this guest: 0 = an upcall is already on its way; 1 = the domain
 * blocked: the hypercall ended its slice, Dom0 ran the other domains, and an event is now pending
 * (the upcall is taken as the hypercall returns). IO_YIELD (0x10B) gives up the rest of the slice. */
#ifndef NET_ABI_H
#define NET_ABI_H

#include "../io/io-abi.h"

#define NET_CONNECT 0x110 /* a0 = TX ring grant, a1 = RX ring grant, a2 = event port: connect a vif
                             to Dom0's netback and bridge (Xen: tx-ring-ref, rx-ring-ref, event-channel) */

#endif
