import HypervisorCore
import Machine

/// The hypervisor's half of two-stage translation: an Sv32x4 G-stage table (privileged spec, H
/// chapter) that maps the guest's RAM, guest-physical `0x8000_0000...`, onto the machine frames of
/// its allotment (the p2m of `GuestMemory`), one 4 KiB page each, and maps nothing else.
///
/// What is left out is the point: a guest access to its devices (UART, CLINT, finisher) finds no
/// G-stage mapping, so the hart raises a guest-page fault, which reaches the VMM as an exit, which
/// emulates the device (MMIO). The guest's own page tables are not looked at at all: the hart
/// walks them itself (VS-stage), so the guest changes its mappings with no exit.
///
/// Layout: the root is 16 KiB (4096 entries, guest-physical bits 33:22) on a 16 KiB boundary; then
/// one 4 KiB level-0 table per 4 MiB of guest RAM. Leaves have U (the G-stage requires it), R, W,
/// X, and A and D already set, so the hart never writes these tables.
enum GStageTable {
    /// Frames the table needs for a guest of `memorySize` bytes: the 4-frame root and the level-0 tables.
    static func frameCount(memorySize: UInt32) -> Int { 4 + Int((memorySize + (4 << 20) - 1) / (4 << 20)) }

    /// Writes the table into `frames` (contiguous, the first one 16 KiB aligned) and returns the
    /// hgatp value that selects it.
    static func build(for memory: GuestMemory, in frames: [UInt32], machine: Machine) throws(HypervisorError) -> UInt32 {
        let root = frames[0]
        guard root & 0x3FFF == 0, frames.count >= frameCount(memorySize: memory.size),
              zip(frames, frames.dropFirst()).allSatisfy({ $1 == $0 &+ 4096 }) else {
            throw HypervisorError("G-stage table: \(frames.count) frames at 0x\(hex8(root)) are not a contiguous, 16 KiB aligned run of \(frameCount(memorySize: memory.size))")
        }
        let valid: UInt32 = 1, readWriteExecute: UInt32 = 0xE, user: UInt32 = 0x10, accessedDirty: UInt32 = 0xC0
        var rootEntries = [UInt32](repeating: 0, count: 4096)
        let pages = memory.machineFrames.count
        var page = 0
        var tableIndex = 0
        while page < pages {
            let guestPhysical = GuestMemory.base &+ UInt32(page) * 4096
            let table = frames[4 + tableIndex]
            var entries = [UInt32](repeating: 0, count: 1024)
            let first = Int(guestPhysical >> 12 & 0x3FF)
            for slot in first..<1024 where page < pages {
                entries[slot] = memory.machineFrames[page] >> 2 | valid | readWriteExecute | user | accessedDirty
                page += 1
            }
            rootEntries[Int(guestPhysical >> 22)] = table >> 2 | valid
            try write(entries, at: table, machine)
            tableIndex += 1
        }
        try write(rootEntries, at: root, machine)
        return 0x8000_0000 | root >> 12
    }

    private static func write(_ entries: [UInt32], at address: UInt32, _ machine: Machine) throws(HypervisorError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 4)
        for entry in entries {
            bytes += [UInt8(truncatingIfNeeded: entry), UInt8(truncatingIfNeeded: entry >> 8),
                      UInt8(truncatingIfNeeded: entry >> 16), UInt8(truncatingIfNeeded: entry >> 24)]
        }
        do {
            try machine.writePhysical(address, bytes)
        } catch {
            throw HypervisorError("G-stage table at 0x\(hex8(address)): \(error)")
        }
    }
}
