// Over-commitment: promising domains more memory than the machine has, after VMware ESX
// (Waldspurger, "Memory Resource Management in VMware ESX Server", OSDI 2002) and Xen's balloon.
//
// The pieces, and where they sit:
// - The p2m is mutable (`HypervisorCore.GuestMemory`): a guest frame can be private and writable,
//   shared read-only, or absent (given back). Every change that takes a mapping or a write
//   permission away is announced, and the VMM's shadow pager drops its translations of that frame.
// - `MachineFramePool`: the machine's frames, scrubbed when given back, with a reclaim path tried in
//   order when a request does not fit (Dom0 installs "balloon", then "sharing"); what is still
//   missing is refused with an error that says what each step freed.
// - `PageSharing`: hash, compare byte for byte, map one copy read-only into every sharer, free the
//   duplicates; a store to a shared frame gets a private copy (copy-on-write).
// - `Balloon`: the VMM's side of kernel-pv.elf's balloon driver (Sources/VLabCLI/Guests/kernel,
//   balloon.h): a target the driver polls, frames it gives back and asks for again.
// - In `Hypervisor`: Dom0 wires all of this into its domains (`sharePages`, `setBalloonTarget`,
//   `memoryReport`, `Configuration.overcommit`), and `PageSharingExperiment` measures N identical
//   domains for `vlab bench memory`.
//
// What is deliberately left out: ESX's swapping to disk (the last resort before refusing), its
// idle-memory tax, and random sampling of candidate pages (a scan here hashes every private frame).
