/// The core-local interruptor (SiFive CLINT layout, QEMU `virt` at `0x0200_0000`) for one hart:
/// `msip` at +0x0 drives MSIP, `mtimecmp` at +0x4000 and `mtime` at +0xBFF8 drive MTIP.
///
/// Time is deterministic: `mtime = retired / instructionsPerTick + offset`. The offset absorbs
/// guest writes to `mtime` and the jumps WFI makes to the next timer deadline.
struct CLINT {
    static let base: UInt32 = 0x0200_0000
    static let size: UInt32 = 0x1_0000
    static let msipOffset: UInt32 = 0x0
    static let mtimecmpOffset: UInt32 = 0x4000
    static let mtimeOffset: UInt32 = 0xBFF8

    var msip: UInt32 = 0
    /// Reset value: all ones, so no timer interrupt is pending until software programs it.
    var mtimecmp: UInt64 = .max
    var timeOffset: UInt64 = 0
    let instructionsPerTick: UInt64

    init(instructionsPerTick: UInt64) { self.instructionsPerTick = instructionsPerTick }

    func mtime(retired: UInt64) -> UInt64 { retired / instructionsPerTick &+ timeOffset }

    mutating func setMtime(_ value: UInt64, retired: UInt64) {
        timeOffset = value &- retired / instructionsPerTick
    }

    func timerPending(retired: UInt64) -> Bool { mtime(retired: retired) >= mtimecmp }

    /// How many more instructions may retire before `mtime` reaches `mtimecmp` (0 if it already has;
    /// `.max` if it never will within 64 bits).
    func instructionsUntilTimer(retired: UInt64) -> UInt64 {
        let now = mtime(retired: retired)
        guard now < mtimecmp else { return 0 }
        let ticks = mtimecmp - now
        let (instructions, overflow) = ticks.multipliedReportingOverflow(by: instructionsPerTick)
        guard !overflow else { return .max }
        // Retirements already made toward the next tick count.
        return instructions - retired % instructionsPerTick
    }

    /// Reads `size` bytes at `offset`; nil if no register is there.
    func read(offset: UInt32, size: Int, retired: UInt64) -> UInt32? {
        let (register, registerOffset): (UInt64, UInt32)
        switch offset {
        case 0..<4: (register, registerOffset) = (UInt64(msip), 0)
        case CLINT.mtimecmpOffset..<CLINT.mtimecmpOffset + 8: (register, registerOffset) = (mtimecmp, CLINT.mtimecmpOffset)
        case CLINT.mtimeOffset..<CLINT.mtimeOffset + 8: (register, registerOffset) = (mtime(retired: retired), CLINT.mtimeOffset)
        default: return nil
        }
        let shift = (offset - registerOffset) * 8
        let mask: UInt64 = size >= 8 ? .max : (1 << (UInt64(size) * 8)) - 1
        return UInt32(truncatingIfNeeded: (register >> UInt64(shift)) & mask)
    }

    /// Writes the low `size` bytes of `value` at `offset`; false if no register is there.
    mutating func write(offset: UInt32, size: Int, value: UInt32, retired: UInt64) -> Bool {
        func merged(_ old: UInt64, at registerOffset: UInt32) -> UInt64 {
            let shift = UInt64(offset - registerOffset) * 8
            let mask: UInt64 = ((size >= 8 ? .max : (1 << (UInt64(size) * 8)) - 1)) << shift
            return old & ~mask | (UInt64(value) << shift) & mask
        }
        switch offset {
        case 0..<4: msip = UInt32(truncatingIfNeeded: merged(UInt64(msip), at: 0)) & 1
        case CLINT.mtimecmpOffset..<CLINT.mtimecmpOffset + 8: mtimecmp = merged(mtimecmp, at: CLINT.mtimecmpOffset)
        case CLINT.mtimeOffset..<CLINT.mtimeOffset + 8:
            setMtime(merged(mtime(retired: retired), at: CLINT.mtimeOffset), retired: retired)
        default: return false
        }
        return true
    }
}
