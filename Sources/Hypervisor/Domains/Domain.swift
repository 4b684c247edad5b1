import HypervisorCore
import Machine
import MemoryVirtualization

/// A domain's number: Dom0 is the control interface itself; guests are 1, 2, ...
public struct DomainID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let number: Int
    public init(_ number: Int) { self.number = number }
    public static func < (lhs: DomainID, rhs: DomainID) -> Bool { lhs.number < rhs.number }
    public var description: String { "dom\(number)" }
}

/// Where a domain is in its life.
public enum DomainState: Equatable, Sendable, CustomStringConvertible {
    /// May be scheduled.
    case runnable
    /// Held by Dom0; keeps its memory and state.
    case paused
    /// Stopped itself (finisher or shutdown call) with this code.
    case exited(code: Int32)
    /// Stopped by the VMM (the report says why).
    case faulted(GuestFault)

    public var description: String {
        switch self {
        case .runnable: return "runnable"
        case .paused: return "paused"
        case .exited(let code): return "exited \(code)"
        case .faulted(let fault): return "faulted: \(fault.cause)"
        }
    }
}

/// What `Dom0.list()` reports about a domain.
public struct DomainInfo: Equatable, Sendable {
    public var id: DomainID
    public var name: String
    public var state: DomainState
    public var memorySize: UInt32
    /// The credit scheduler's share: a domain with weight 2w gets twice the hart time of one with w.
    public var weight: Int
    /// Guest instructions the domain has retired (its share of the hart).
    public var instructions: UInt64
    public var exits: UInt64
}

/// One unprivileged guest (DomU): its virtual machine, the frames it owns, its balloon, its tagged
/// console. Its memory frames are in its p2m (`vm.memory`), which page sharing and the balloon
/// change while it runs.
public final class Domain {
    public let id: DomainID
    public let name: String
    public let vm: VirtualMachine
    public internal(set) var state: DomainState = .paused
    public internal(set) var weight: Int
    /// The VMM's side of the domain's balloon (effective once a driver in the guest registered).
    public let balloon: Balloon
    /// The hart's clock (`Dom0.hartInstructions`) when the domain last blocked, while it is blocked:
    /// its timer deadline counts from there.
    var blockedSince: UInt64?
    /// The frames of the domain's shadow-table pool, returned on destroy.
    let shadowFrames: [UInt32]
    let console: TaggedConsole

    init(id: DomainID, name: String, vm: VirtualMachine, weight: Int, balloon: Balloon, shadowFrames: [UInt32],
         console: TaggedConsole) {
        self.id = id
        self.name = name
        self.vm = vm
        self.weight = weight
        self.balloon = balloon
        self.shadowFrames = shadowFrames
        self.console = console
    }

    public var info: DomainInfo {
        DomainInfo(id: id, name: name, state: state, memorySize: vm.memory.size, weight: weight,
                   instructions: vm.vcpu.retired, exits: vm.statistics.totalExits)
    }
}

/// A domain's console: its bytes, a line at a time, each line prefixed with the domain's tag
/// ("[dom1] "), so several guests can share one terminal and every line says whose it is.
final class TaggedConsole {
    let tag: String
    var output: ConsoleIO
    private var line: [UInt8] = []
    /// Everything the domain printed, untagged (for tests and reports).
    private(set) var transcript: [UInt8] = []

    init(tag: String, output: ConsoleIO) {
        self.tag = tag
        self.output = output
    }

    var console: ConsoleIO {
        ConsoleIO(write: { [self] byte in write(byte) }, read: { nil }, flush: { [self] in output.flush() })
    }

    func write(_ byte: UInt8) {
        transcript.append(byte)
        line.append(byte)
        if byte == 0x0A { emitLine() }
    }

    /// Ends a last unterminated line (when the domain stops).
    func finish() {
        if !line.isEmpty {
            line.append(0x0A)
            emitLine()
        }
        output.flush()
    }

    private func emitLine() {
        for byte in Array("[\(tag)] ".utf8) + line { output.write(byte) }
        line.removeAll(keepingCapacity: true)
    }
}
