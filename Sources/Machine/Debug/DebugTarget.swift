/// How a debugged or traced guest ended.
public enum DebugTargetEnd: Equatable, Sendable {
    /// The guest exited with this status (finisher, HTIF, or a Linux process's exit).
    case exited(code: Int32)
    /// The Linux user-mode kernel killed the process with this signal.
    case killed(signal: Int32)
    /// The machine can make no progress (the message says why).
    case fault(String)
}

/// Something a debugger or tracer drives: a machine, run the way its command runs it (bare metal
/// under `vlab boot`, a Linux process under `vlab run`), in bounded pieces.
///
/// Both methods return nil while the guest goes on, or how it ended. A run that stops early at a
/// debugger's breakpoint also returns nil; `machine.takeBreakpointHit()` says so.
public protocol DebugTarget: AnyObject {
    var machine: Machine { get }
    /// Runs until `maxInstructions` more retire, a breakpoint is reached, or the guest ends.
    func resume(maxInstructions: UInt64) -> DebugTargetEnd?
    /// Runs until one instruction retires, or one trap the host handles has been handled.
    func step() -> DebugTargetEnd?
}

/// A bare-metal guest booted on the machine (`vlab boot`). Remembers how it ended, because a
/// machine asked to run again after its guest exited would carry on past the exit.
public final class BareMetalTarget: DebugTarget {
    public let machine: Machine
    public private(set) var end: DebugTargetEnd?

    public init(machine: Machine) { self.machine = machine }

    public func resume(maxInstructions: UInt64) -> DebugTargetEnd? {
        if let end { return end }
        return settle(machine.run(maxInstructions: maxInstructions))
    }

    public func step() -> DebugTargetEnd? { resume(maxInstructions: 1) }

    private func settle(_ stop: StopReason) -> DebugTargetEnd? {
        switch stop {
        case .instructionLimit: return nil
        case .exited(let code): end = .exited(code: code)
        case .guestFault(let message): end = .fault(message)
        case .userTrap(let trap): end = .fault("unexpected user trap \(trap)")
        }
        return end
    }
}

extension LinuxProcess: DebugTarget {
    public func resume(maxInstructions: UInt64) -> DebugTargetEnd? {
        LinuxProcess.debugEnd(run(maxInstructions: maxInstructions))
    }

    public func step() -> DebugTargetEnd? {
        LinuxProcess.debugEnd(singleStep())
    }

    static func debugEnd(_ exit: LinuxExit) -> DebugTargetEnd? {
        switch exit {
        case .instructionLimit: return nil
        case .exited(let status): return .exited(code: status)
        case .killed(let signal): return .killed(signal: signal)
        case .fault(let message): return .fault(message)
        }
    }
}
