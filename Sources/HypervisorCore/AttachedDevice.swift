/// A device the VMM emulates for one guest beyond the board's own UART, CLINT and finisher (for
/// example SplitIO's emulated disk controller). Like those, it is reached only by MMIO exits:
/// the shadow tables never map its registers, so every guest load or store to it traps and the
/// VMM calls it with the guest-physical address.
public protocol AttachedDevice: AnyObject {
    /// Whether one of its registers is at this guest-physical address.
    func claims(_ address: UInt32) -> Bool
    /// A `size`-byte register load; nil if no register is there (the guest gets an access fault).
    func read(_ address: UInt32, size: Int, vcpu: inout VirtualCPU) -> UInt32?
    /// A `size`-byte register store; false if no register is there.
    func write(_ address: UInt32, size: Int, value: UInt32, vcpu: inout VirtualCPU) -> Bool
}
