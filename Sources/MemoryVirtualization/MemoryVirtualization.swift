// MemoryVirtualization: the second stage of the seed's "two-stage mapping process".
//
// A guest OS maps virtual pages to what it believes are physical pages; the VMM maps those
// guest-physical pages to machine frames (the p2m table, `HypervisorCore.GuestMemory`). The
// hart can follow only one table, so the VMM either composes the two itself (shadow paging:
// one shadow table per guest page table, kept coherent as the guest edits its own) or lets the
// hardware walk both (nested paging: the H extension's G-stage). This module holds the
// reference answers and the measurements that show the trade-off between them, and the
// over-commitment techniques (content-based page sharing, ballooning) that let several
// domains fit in less machine memory than they were promised.
