import Machine

/// A guest stopped by the VMM because it can make no further progress or broke a rule: the report
/// names the domain, the guest pc and virtual privilege, and the cause. Only the guest stops; the
/// VMM and other domains go on.
public struct GuestFault: Error, Equatable, Sendable, CustomStringConvertible {
    public var domain: String
    public var pc: UInt32
    public var privilege: PrivilegeLevel
    public var cause: String

    public init(domain: String, pc: UInt32, privilege: PrivilegeLevel, cause: String) {
        self.domain = domain
        self.pc = pc
        self.privilege = privilege
        self.cause = cause
    }

    public var description: String {
        "\(domain): guest fault at pc 0x\(hex8(pc)) (virtual \(privilege)-mode): \(cause)"
    }
}

/// How a run of a guest ended.
public enum GuestRunResult: Equatable, Sendable {
    /// The guest stopped itself through the test finisher (or a shutdown hypercall) with this code.
    case exited(code: Int32)
    /// The guest was stopped by the VMM.
    case faulted(GuestFault)
    /// The run's slice of instructions is used up; the guest can run again.
    case sliceEnded
    /// The guest blocked until an event is pending (`EmulationOutcome.block`, only when it shares
    /// the hart): run it again once `VirtualMachine.isBlocked` is false or its timer is due.
    case blocked
    /// The guest gave up the rest of its slice (`EmulationOutcome.yield`); it can run again.
    case yielded
}
