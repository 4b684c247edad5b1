import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV

/// The four ways VirtLab virtualizes the same guest kernel, by their command-line names.
public enum VMMMode: String, CaseIterable, Sendable, CustomStringConvertible {
    /// The unmodified kernel runs in U-mode; every privileged instruction traps and is emulated.
    case trapAndEmulate = "trap-and-emulate"
    /// Kernel code is scanned and sensitive-but-unprivileged instructions are rewritten to trap.
    case binaryTranslation = "binary-translation"
    /// A kernel build that calls the VMM through hypercalls instead of privileged instructions.
    case paravirtual = "paravirtual"
    /// The hart's H extension runs the unmodified kernel in VS/VU modes.
    case hardwareAssisted = "hardware-assisted"

    public var description: String { rawValue }

    /// The shipped teaching-kernel build that fits the mode (in Sources/VLabCLI/Guests/kernel/).
    public var shippedKernel: String {
        switch self {
        case .paravirtual: return "kernel-pv.elf"
        case .binaryTranslation: return "kernel-bt.elf"
        case .trapAndEmulate, .hardwareAssisted: return "kernel.elf"
        }
    }
}

/// What booting one guest under a mode needs.
public struct VMMBootRequest {
    public var image: ELFFile
    /// The guest's name in reports ("kernel.elf", "dom1").
    public var name: String
    /// The hart's configuration to start from (flags such as an ISA variant); the VMM sets
    /// `interceptUserTraps` and the RAM size. Its `engine` is `engine` below.
    public var machineConfiguration = MachineConfiguration()
    public var engine: ExecutionEngineKind {
        get { machineConfiguration.engine }
        set { machineConfiguration.engine = newValue }
    }
    public var memorySize: UInt32 = 64 << 20
    public var instructionsPerTimerTick: UInt64 = 1
    public var instructionBudget: UInt64? = nil
    /// Where the guest's UART output goes.
    public var console: ConsoleIO
    /// The shadow pager of the modes that use shadow paging (all but hardware-assisted).
    public var shadowPager: ShadowPagerFactory = ReferenceShadowPager.factory()

    public init(image: ELFFile, name: String, console: ConsoleIO) {
        self.image = image
        self.name = name
        self.console = console
    }
}

/// How a guest's boot under a mode ended, with the mode's exit accounting.
public struct VMMBootResult {
    public var result: GuestRunResult
    public var statistics: ExitStatistics
    /// Mode-specific facts for `--stats` ("scanned 4096 instructions, rewrote 3").
    public var notes: [String]
    public init(result: GuestRunResult, statistics: ExitStatistics, notes: [String] = []) {
        self.result = result
        self.statistics = statistics
        self.notes = notes
    }
}

/// A setup problem (bad image, too little memory, mode not built yet): one line, no crash.
public struct HypervisorError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One way of running a guest.
public protocol VMMModeImplementation {
    func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult
    /// For domains: turns `vm`, which Dom0 built on the shared machine with the trap-and-emulate
    /// handler, into a guest of this mode (set `vm.rewriter`, `vm.hypercalls` or `vm.handler`).
    /// Returns false if the mode cannot share a hart with other domains (the default).
    func prepareDomain(_ vm: VirtualMachine) -> Bool
    /// Adjusts a hart configuration to what this mode's guest images need (an ISA variant, say),
    /// for the bare baseline runs `--stats` and `vlab bench vmm` compare against, and for Dom0's
    /// machine. Default: no change.
    func prepareMachine(_ configuration: inout MachineConfiguration)
}

// MARK: The mode catalogue
//
// A mode plugs in by adding ONE file that gives `VMMModeCatalog` a static property, e.g.
//
//     extension VMMModeCatalog {
//         public static var binaryTranslation: (any VMMModeImplementation)? { BinaryTranslationMode() }
//     }
//
// A member the type itself declares wins over the protocol extension's default below (nil = "not
// available yet"), so no existing file changes when a mode arrives.

public protocol BinaryTranslationModeSlot {}
public protocol ParavirtualModeSlot {}
public protocol HardwareAssistedModeSlot {}
extension BinaryTranslationModeSlot { public static var binaryTranslation: (any VMMModeImplementation)? { nil } }
extension ParavirtualModeSlot { public static var paravirtual: (any VMMModeImplementation)? { nil } }
extension HardwareAssistedModeSlot { public static var hardwareAssisted: (any VMMModeImplementation)? { nil } }

/// Where the command line finds each mode's implementation.
public enum VMMModeCatalog: BinaryTranslationModeSlot, ParavirtualModeSlot, HardwareAssistedModeSlot {
    public static func implementation(of mode: VMMMode) -> (any VMMModeImplementation)? {
        switch mode {
        case .trapAndEmulate: return TrapAndEmulateMode()
        case .binaryTranslation: return VMMModeCatalog.binaryTranslation
        case .paravirtual: return VMMModeCatalog.paravirtual
        case .hardwareAssisted: return VMMModeCatalog.hardwareAssisted
        }
    }

    /// The modes that are implemented, in the table's order.
    public static var available: [VMMMode] { VMMMode.allCases.filter { implementation(of: $0) != nil } }

    /// The implementation, or the one-line error the CLI prints.
    public static func require(_ mode: VMMMode) throws(HypervisorError) -> any VMMModeImplementation {
        guard let implementation = implementation(of: mode) else {
            throw HypervisorError("--vmm \(mode): mode not available yet (available: \(available.map(\.rawValue).joined(separator: ", ")))")
        }
        return implementation
    }
}
