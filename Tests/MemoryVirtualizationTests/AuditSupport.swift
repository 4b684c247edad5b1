import Foundation
import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV

/// Files and guest builders shared by the audit, nested-paging, workload and bench tests.
enum AuditFixtures {
    /// The package root, from this file's path (Tests/MemoryVirtualizationTests/AuditSupport.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func shippedImage(_ relativePath: String) throws -> ELFFile {
        try ELFFile(bytes: Array(try Data(contentsOf: root.appendingPathComponent(relativePath))))
    }

    static func kernel() throws -> ELFFile { try shippedImage("Sources/VLabCLI/Guests/kernel/kernel.elf") }

    /// An executable on PATH, if installed.
    static func peer(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// The shadow pagers the audit runs: the reference (kept per address space, write-protected
    /// guest tables) and HypervisorCore's flushing one (everything dropped on every fence).
    enum Pager: String, CaseIterable, Sendable {
        case reference, flushing
        var factory: ShadowPagerFactory {
            switch self {
            case .reference: return ReferenceShadowPager.factory()
            case .flushing: return FlushingShadowPager.factory
            }
        }
    }

    /// A trap-and-emulate guest (shadow paging) of `image`.
    static func shadowGuest(_ image: ELFFile, memory: UInt32 = 64 << 20, engine: ExecutionEngineKind = .translator,
                            pager: Pager = .reference, console: ConsoleIO = .silent) throws -> VirtualMachine {
        var configuration = GuestConfiguration()
        configuration.memorySize = memory
        configuration.instructionBudget = 200_000_000
        var machine = MachineConfiguration()
        machine.engine = engine
        return try VirtualMachine.hostingOne(configuration, image: image, machine: machine, console: console,
                                             handler: PrivilegedInstructionEmulator(), pager: pager.factory)
    }

    /// A hardware-assisted guest (nested paging) of `image` that runs its own firmware, so it
    /// retires exactly the bare machine's instructions (the audit's lock-step needs that).
    static func nestedGuest(_ image: ELFFile, memory: UInt32 = 64 << 20, engine: ExecutionEngineKind = .translator,
                            walkCache: Bool = false, console: ConsoleIO = .silent) throws -> HardwareAssistedGuest {
        var request = VMMBootRequest(image: image, name: "guest", console: console)
        request.engine = engine
        request.memorySize = memory
        request.instructionBudget = 200_000_000
        request.machineConfiguration.gStageWalkCache = walkCache
        let guest = try HardwareAssistedGuest(request)
        guest.servesFirmwareCalls = false
        return guest
    }

    static func auditSubject(_ guest: HardwareAssistedGuest) -> TranslationAudit.Guest {
        TranslationAudit.Guest(machine: guest.machine, memory: guest.memory, retired: { guest.vcpu.retired },
                               emulated: { guest.statistics.emulatedInstructions }, run: { guest.run(maxInstructions: $0) })
    }
}

/// Collects console bytes.
final class ConsoleBytes {
    var bytes: [UInt8] = []
    var console: ConsoleIO { ConsoleIO(write: { [self] in bytes.append($0) }) }
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
