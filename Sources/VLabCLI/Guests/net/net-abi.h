/* The network guest's interface to the VMM (SplitIO's NetHost). It uses the I/O guest's
 * hypercalls (../io/io-abi.h: grants, event channels, block, mark, shutdown) with one addition.
 * The Swift side is Sources/SplitIO/Net/NetHost.swift; the numbers must match.
 *
 * IO_BLOCK differs in meaning for this guest: 0 = an upcall is already on its way; 1 = the VMM
 * has descheduled the domain until an event arrives (the guest spins on its upcall counter until
 * its slice ends; the VMM counts those instructions as idle). */
#ifndef NET_ABI_H
#define NET_ABI_H

#include "../io/io-abi.h"

#define NET_CONNECT 0x110 /* a0 = TX ring grant, a1 = RX ring grant, a2 = event port: connect a vif
                             to Dom0's netback and bridge (Xen: tx-ring-ref, rx-ring-ref, event-channel) */

#endif
