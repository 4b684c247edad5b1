import Foundation
import RISCV
import Testing
@testable import Machine

#if canImport(Glibc)
import Glibc
#endif

/// Everything architectural a run leaves behind, to compare the two engines bit for bit.
struct ArchitecturalSnapshot: Equatable, CustomStringConvertible {
    var stop: String
    var registers: [UInt32]
    var pc: UInt32
    var privilege: PrivilegeLevel
    var retired: UInt64
    var csrs: [UInt16: UInt32]
    var reservation: UInt32?
    var mtimecmp: UInt64
    var waitingForInterrupt: Bool
    var console: [UInt8]
    var traps: [TrapRecord]

    /// Every CSR number the machine implements (asked of a fresh machine once).
    static let implementedCSRs: [UInt16] = {
        guard let machine = try? Machine(configuration: { var c = MachineConfiguration(); c.ramSize = 4096; return c }()) else { return [] }
        return (0..<4096).map(UInt16.init).filter { machine.csrValue($0) != nil }
    }()

    init(_ machine: Machine, stop: String, console: [UInt8]) {
        self.stop = stop
        registers = (0..<32).map { machine.state.pointee.registers[$0] }
        pc = machine.pc
        privilege = machine.privilege
        retired = machine.retiredInstructions
        csrs = Dictionary(uniqueKeysWithValues: Self.implementedCSRs.map { ($0, machine.readCSR($0)) })
        reservation = machine.state.pointee.reservation
        mtimecmp = machine.clint.mtimecmp
        waitingForInterrupt = machine.waitingForInterrupt
        self.console = console
        traps = machine.trapLog ?? []
    }

    /// The first difference, in words, or nil.
    func difference(from other: ArchitecturalSnapshot) -> String? {
        if stop != other.stop { return "stop: \(stop) vs \(other.stop)" }
        if let n = (0..<32).first(where: { registers[$0] != other.registers[$0] }) {
            return "x\(n): 0x\(String(registers[n], radix: 16)) vs 0x\(String(other.registers[n], radix: 16))"
        }
        if pc != other.pc { return "pc: 0x\(String(pc, radix: 16)) vs 0x\(String(other.pc, radix: 16))" }
        if privilege != other.privilege { return "privilege: \(privilege) vs \(other.privilege)" }
        if retired != other.retired { return "retired: \(retired) vs \(other.retired)" }
        if let n = Self.implementedCSRs.first(where: { csrs[$0] != other.csrs[$0] }) {
            return "CSR 0x\(String(n, radix: 16)): 0x\(String(csrs[n] ?? 0, radix: 16)) vs 0x\(String(other.csrs[n] ?? 0, radix: 16))"
        }
        if traps != other.traps {
            let n = zip(traps, other.traps).prefix { $0 == $1 }.count
            return "trap \(n): \(n < traps.count ? traps[n].description : "none") vs \(n < other.traps.count ? other.traps[n].description : "none")"
        }
        if console != other.console { return "console output differs" }
        if self != other { return "reservation, mtimecmp or WFI state differs" }
        return nil
    }

    var description: String { "\(stop), pc 0x\(String(pc, radix: 16)), \(retired) retired, \(traps.count) traps" }
}

/// Runs the same guest on both engines and compares every architectural effect, RAM included.
enum EngineComparison {
    /// Builds a machine for the engine (with its console captured into the given box), runs it,
    /// and says how it stopped.
    typealias Runner = (ExecutionEngineKind, OutputCapture) throws -> (Machine, String)

    static func run(_ runner: Runner) throws -> (interpreter: ArchitecturalSnapshot, translator: ArchitecturalSnapshot, ramDifference: Int?, translatorMachine: Machine) {
        let interpreterOutput = OutputCapture(), translatorOutput = OutputCapture()
        let (interpreter, interpreterStop) = try runner(.interpreter, interpreterOutput)
        let (translator, translatorStop) = try runner(.translator, translatorOutput)
        let a = ArchitecturalSnapshot(interpreter, stop: interpreterStop, console: interpreterOutput.bytes)
        let b = ArchitecturalSnapshot(translator, stop: translatorStop, console: translatorOutput.bytes)
        var ramDifference: Int? = nil
        if memcmp(interpreter.ram, translator.ram, Int(interpreter.ramSize)) != 0 {
            ramDifference = (0..<Int(interpreter.ramSize)).first {
                interpreter.ram.load(fromByteOffset: $0, as: UInt8.self) != translator.ram.load(fromByteOffset: $0, as: UInt8.self)
            }
        }
        return (a, b, ramDifference, translator)
    }

    /// Expects identical effects; returns the translator's machine for further checks.
    @discardableResult
    static func expectIdentical(_ name: String, compareRAM: Bool = true, _ runner: Runner) throws -> (ArchitecturalSnapshot, Machine) {
        let (a, b, ram, machine) = try run(runner)
        #expect(a.difference(from: b) == nil, "\(name): interpreter vs translator: \(a.difference(from: b) ?? "")")
        #expect(!compareRAM || ram == nil, "\(name): RAM differs first at offset 0x\(String(ram ?? 0, radix: 16))")
        return (a, machine)
    }

    /// A machine for `engine` whose console goes to `output` and whose traps are logged.
    static func prepare(_ machine: Machine, _ output: OutputCapture) {
        machine.console = ConsoleIO(write: { output.bytes.append($0) })
        machine.trapLog = []
    }
}

@Suite("Engines: interpreter and translator give identical results")
struct EngineDifferentialTests {
    static let guests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Guests")
    static let privileged = guests.appendingPathComponent("privileged")
    static let privilegedPrograms = ((try? FileManager.default.contentsOfDirectory(atPath: privileged.path)) ?? [])
        .filter { $0.hasSuffix(".S") }.sorted()

    static func assemble(_ url: URL) throws -> ELFFile {
        let source = try String(contentsOf: url, encoding: .utf8)
        let directory = url.deletingLastPathComponent()
        let program = try Assembler.assemble(source: source, fileName: url.lastPathComponent, base: 0x8000_0000, include: { name in
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        })
        return try ELFFile(bytes: program.elfExecutable())
    }

    static func bareMetal(_ elf: ELFFile, limit: UInt64) -> EngineComparison.Runner {
        return { engine, output in
            var configuration = MachineConfiguration()
            configuration.engine = engine
            configuration.ramSize = 16 << 20
            let machine = try Machine(configuration: configuration)
            EngineComparison.prepare(machine, output)
            try machine.load(elf)
            return (machine, "\(machine.run(maxInstructions: limit))")
        }
    }

    @Test("privileged guest programs", arguments: privilegedPrograms)
    func privilegedGuest(_ name: String) throws {
        let elf = try Self.assemble(Self.privileged.appendingPathComponent(name))
        let (snapshot, machine) = try EngineComparison.expectIdentical(name, Self.bareMetal(elf, limit: 50_000_000))
        #expect(snapshot.stop == "\(StopReason.exited(code: 0))", "\(name) passes")
        #expect(machine.engineStatistics.blocksTranslated > 0)
    }

    @Test("the demo guest of vlab boot (hello.S)")
    func demoGuest() throws {
        let url = Self.guests.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/VLabCLI/Guests/hello.S")
        let elf = try Self.assemble(url)
        let (snapshot, _) = try EngineComparison.expectIdentical("hello.S", Self.bareMetal(elf, limit: 50_000_000))
        #expect(snapshot.stop == "\(StopReason.exited(code: 0))")
        #expect(!snapshot.console.isEmpty && snapshot.traps.contains { $0.trap.cause == 0x8000_0007 },
                "the demo prints and takes a timer interrupt")
    }

    struct LinuxCase: CustomStringConvertible, Sendable {
        var program: String
        var arguments: [String] = []
        var input: String = ""
        /// fileio's fstat64 copies the host's inode number and timestamps of a file each run
        /// creates anew into guest memory: its RAM legitimately differs between two runs.
        var hostStateInRAM = false
        var description: String { ([program] + arguments).joined(separator: " ") }
    }

    static let linuxCases: [LinuxCase] = [
        LinuxCase(program: "hello"),
        LinuxCase(program: "args", arguments: ["one", "two words", ""]),
        LinuxCase(program: "upper", input: "Hello, World!\n" + String(repeating: "abc xyz\n", count: 50)),
        LinuxCase(program: "status"),
        LinuxCase(program: "heap"),
        LinuxCase(program: "fileio", arguments: ["INPUT", "OUTPUT"], hostStateInRAM: true),
        LinuxCase(program: "sysinfo"),
        LinuxCase(program: "compute"),
        LinuxCase(program: "signals", arguments: ["null"]),
        LinuxCase(program: "signals", arguments: ["illegal"]),
        LinuxCase(program: "signals", arguments: ["misaligned"]),
        LinuxCase(program: "signals", arguments: ["stack"]),
    ] + (ProcessInfo.processInfo.environment["VLAB_LONG_TESTS"] == "1" ? [LinuxCase(program: "long")] : [])

    @Test("Linux user-mode guests", arguments: linuxCases)
    func linuxGuest(_ guest: LinuxCase) throws {
        // Both runs use the same file names, so argv (in guest memory) is the same too.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-engines-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let arguments = guest.arguments.map { $0 == "INPUT" || $0 == "OUTPUT" ? scratch.appendingPathComponent($0).path : $0 }
        try Data("some input\nfor the file test\n".utf8).write(to: scratch.appendingPathComponent("INPUT"))
        let elfPath = Self.guests.appendingPathComponent("linux/\(guest.program).elf").path
        let elf = try ELFFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: elfPath))))
        var outputs: [ExecutionEngineKind: [UInt8]] = [:]

        let runner: EngineComparison.Runner = { engine, output in
            try? FileManager.default.removeItem(at: scratch.appendingPathComponent("OUTPUT"))
            let inputURL = scratch.appendingPathComponent("stdin"), outputURL = scratch.appendingPathComponent("stdout")
            try Data(guest.input.utf8).write(to: inputURL)
            _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
            let stdin = try FileHandle(forReadingFrom: inputURL), stdout = try FileHandle(forWritingTo: outputURL)
            defer { try? stdin.close(); try? stdout.close() }
            var configuration = MachineConfiguration()
            configuration.interceptUserTraps = true
            configuration.ramSize = 32 << 20
            configuration.engine = engine
            let machine = try Machine(configuration: configuration)
            EngineComparison.prepare(machine, output)
            let process = try LinuxProcess(machine: machine, executable: elf, arguments: [elfPath] + arguments, environment: ["A=1"],
                                           standardStreams: LinuxStandardStreams(input: stdin.fileDescriptor, output: stdout.fileDescriptor,
                                                                                 error: stdout.fileDescriptor))
            let exit = process.run(maxInstructions: 5_000_000_000)
            output.bytes += Array(try Data(contentsOf: outputURL))
            outputs[engine] = (try? Array(Data(contentsOf: scratch.appendingPathComponent("OUTPUT")))) ?? []
            return (machine, "\(exit)")
        }
        let (snapshot, _) = try EngineComparison.expectIdentical(guest.description, compareRAM: !guest.hostStateInRAM, runner)
        #expect(outputs[.interpreter] == outputs[.translator], "\(guest): files written differ")
        #expect(!snapshot.console.isEmpty || guest.program == "status", "\(guest) printed something")
        #expect(!snapshot.traps.isEmpty, "\(guest): system calls trap")
    }

    /// Thousands of seeded random programs (see RandomProgramGenerator.swift). A failure names its
    /// seed; `VLAB_ENGINE_SEEDS=N` runs more.
    @Test("random programs: ALU, memory, branches, loops, calls, M and A, CSRs, traps, timer, self-modifying code, Sv32 switches")
    func randomPrograms() throws {
        let count = Int(ProcessInfo.processInfo.environment["VLAB_ENGINE_SEEDS"] ?? "") ?? 2000
        var failures = 0
        var totals = (retired: UInt64(0), traps: 0, virtualMemory: 0, invalidated: UInt64(0), chained: UInt64(0), interrupts: 0, native: UInt64(0))
        for seed in 0..<UInt64(count) where failures < 5 {
            var generator = RandomProgramGenerator(seed: seed)
            let program = generator.program(seed: seed)
            let runner: EngineComparison.Runner = { engine, output in
                let machine = try program.makeMachine(engine: engine)
                // Odd seeds run the threaded code alone, even seeds with its native x86-64 stage.
                machine.codeCache.emitsNativeCode = machine.codeCache.emitsNativeCode && seed % 2 == 0
                EngineComparison.prepare(machine, output)
                return (machine, "\(machine.run(maxInstructions: 4000))")
            }
            let (a, b, ram, machine) = try EngineComparison.run(runner)
            if let difference = a.difference(from: b) ?? ram.map({ "RAM at offset 0x\(String($0, radix: 16))" }) {
                failures += 1
                Issue.record("seed \(seed) (\(program.virtualMemory ? "Sv32" : "bare"), tick \(program.instructionsPerTick)): \(difference)")
            }
            let statistics = machine.engineStatistics
            totals.retired += a.retired
            totals.traps += a.traps.count
            totals.virtualMemory += program.virtualMemory ? 1 : 0
            totals.invalidated += statistics.invalidatedBlocks
            totals.interrupts += a.traps.filter { $0.trap.cause & 0x8000_0000 != 0 }.count
            totals.chained += statistics.chainedTransitions
            totals.native += statistics.nativeBlocks
        }
        // The generator must actually reach the interesting paths, or the comparison proves little.
        guard failures == 0 else { return }
        #expect(totals.retired > UInt64(count) * 300, "programs run: \(totals.retired) instructions")
        #expect(totals.traps > count, "traps taken: \(totals.traps)")
        #expect(totals.virtualMemory > count / 5)
        #expect(totals.invalidated > UInt64(count / 10), "self-modifying code invalidated \(totals.invalidated) blocks")
        #expect(totals.chained > 0)
        #expect(totals.native > 0 || !NativeCodeEmitter.isSupported, "native code was made for even seeds")
        #expect(totals.interrupts > count / 10, "timer interrupts: \(totals.interrupts)")
        print("random programs: \(count) cases, \(totals)")
    }
}
