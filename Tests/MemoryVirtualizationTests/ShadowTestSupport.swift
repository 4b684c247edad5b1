import Foundation
import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV

/// Runs the shadow-paging test guests (Tests/Guests/memory/shadow-*.S, assembled by the project's
/// assembler) on the bare machine, the oracle, and under trap-and-emulate with a chosen pager.
enum ShadowGuests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let ramSize = 4 << 20

    static func image(_ name: String) throws -> ELFFile {
        let url = root.appendingPathComponent("Tests/Guests/memory/\(name)")
        let source = try String(contentsOf: url, encoding: .utf8)
        let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000)
        return try ELFFile(bytes: program.elfExecutable())
    }

    static func kernel(_ name: String) throws -> ELFFile {
        try ELFFile(bytes: Array(try Data(contentsOf: root.appendingPathComponent("Sources/VLabCLI/Guests/kernel/\(name)"))))
    }

    /// Registers and all of guest RAM at the end of a run.
    struct Outcome: Equatable {
        var registers: [UInt32]
        var pc: UInt32
        var retired: UInt64
        var ram: [UInt8]
        var stopped: String

        func register(_ name: GuestRegister) -> UInt32 { registers[name.rawValue] }
    }

    static func runBare(_ image: ELFFile, engine: ExecutionEngineKind = .translator) throws -> Outcome {
        var configuration = MachineConfiguration()
        configuration.ramSize = ramSize
        configuration.engine = engine
        let machine = try Machine(configuration: configuration)
        machine.console = .silent
        try machine.load(image)
        let stop = machine.run(maxInstructions: 10_000_000)
        return Outcome(registers: (0..<32).map { machine.register(Register(UInt8($0))) }, pc: machine.pc,
                       retired: machine.retiredInstructions,
                       ram: try machine.readPhysical(0x8000_0000, count: ramSize), stopped: "\(stop)")
    }

    static func runVirtualized(_ image: ELFFile, pager: @escaping ShadowPagerFactory,
                               engine: ExecutionEngineKind = .translator) throws -> (Outcome, VirtualMachine) {
        var request = VMMBootRequest(image: image, name: "guest", console: .silent)
        request.memorySize = UInt32(ramSize)
        request.engine = engine
        request.instructionBudget = 10_000_000
        request.shadowPager = pager
        let vm = try GuestHost.makeGuest(request, handler: PrivilegedInstructionEmulator())
        let result = vm.run()
        let stopped = result == .exited(code: 0) ? "exited(code: 0)" : "\(result)"
        return (Outcome(registers: (0..<32).map { vm.vcpu.register($0) }, pc: vm.vcpu.pc, retired: vm.vcpu.retired,
                        ram: vm.memory.read(0x8000_0000, count: ramSize) ?? [], stopped: stopped), vm)
    }

    /// A guest on a machine whose shadow pool has only `shadowFrames` frames.
    static func runWithPool(_ image: ELFFile, shadowFrames: Int, pager: @escaping ShadowPagerFactory) throws -> (Outcome, VirtualMachine) {
        var machineConfiguration = MachineConfiguration()
        machineConfiguration.interceptUserTraps = true
        machineConfiguration.ramSize = shadowFrames * 4096 + ramSize
        let machine = try Machine(configuration: machineConfiguration)
        machine.console = .silent
        var allocator = MachineFrameAllocator(ramSize: machineConfiguration.ramSize)
        let pool = try allocator.allocate(shadowFrames, for: "shadow")
        let frames = try allocator.allocate(ramSize / 4096, for: "memory")
        var configuration = GuestConfiguration()
        configuration.memorySize = UInt32(ramSize)
        configuration.instructionBudget = 10_000_000
        let vm = try VirtualMachine(configuration: configuration, machine: machine, memoryFrames: frames, shadowFrames: pool,
                                    console: .silent, handler: PrivilegedInstructionEmulator(), pager: pager)
        try vm.load(image)
        let result = vm.run()
        let stopped = result == .exited(code: 0) ? "exited(code: 0)" : "\(result)"
        return (Outcome(registers: (0..<32).map { vm.vcpu.register($0) }, pc: vm.vcpu.pc, retired: vm.vcpu.retired,
                        ram: vm.memory.read(0x8000_0000, count: ramSize) ?? [], stopped: stopped), vm)
    }

    /// Every pager the tests hold to the same rules, by name.
    static let pagers: [(String, ShadowPagerFactory)] = {
        var eager = ReferenceShadowPager.Configuration()
        eager.coherence = .writeProtectEager
        var fences = ReferenceShadowPager.Configuration()
        fences.coherence = .fences
        return [
            ("reference", ReferenceShadowPager.factory()),
            ("reference, eager", ReferenceShadowPager.factory(eager)),
            ("reference, fences only", ReferenceShadowPager.factory(fences)),
            ("flushing", FlushingShadowPager.factory),
        ]
    }()

    static func word(_ ram: [UInt8], at guestPhysical: UInt32) -> UInt32 {
        let offset = Int(guestPhysical - 0x8000_0000)
        return (0..<4).reduce(0) { $0 | UInt32(ram[offset + $1]) << (8 * $1) }
    }
}

/// The registers the test guests leave their observations in (ABI names).
enum GuestRegister: Int {
    case a2 = 12, a3 = 13, a4 = 14, a6 = 16, a7 = 17
    case s3 = 19, s4 = 20, s5 = 21, s6 = 22, s7 = 23, s8 = 24, s9 = 25, s10 = 26, s11 = 27
}

/// Collects console bytes.
final class ShadowConsole {
    var bytes: [UInt8] = []
    var console: ConsoleIO { ConsoleIO(write: { [self] in bytes.append($0) }) }
}
