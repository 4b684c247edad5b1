import Foundation
import RISCV
import Testing
@testable import Machine

/// The hypervisor extension (Hart/HypervisorExtension.swift, Memory/TwoStageTranslation.swift):
/// the h-*.S guest programs on both engines and on QEMU (`-cpu rv32,h=true`), and unit tests for
/// the rules where QEMU 7.2 is not a faithful peer, with expectations worked out from the spec.
@Suite("Hypervisor extension")
struct HypervisorExtensionTests {
    /// Tests/Guests/hypervisor: the h-*.S programs (they include ../privileged/harness.inc).
    static let folder = EngineDifferentialTests.guests.appendingPathComponent("hypervisor")
    static let hypervisorPrograms = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { $0.hasSuffix(".S") }.sorted()

    static func hypervisorGuest(_ elf: ELFFile, limit: UInt64) -> EngineComparison.Runner {
        return { engine, output in
            var configuration = MachineConfiguration()
            configuration.engine = engine
            configuration.ramSize = 16 << 20
            configuration.hypervisorExtension = true
            let machine = try Machine(configuration: configuration)
            EngineComparison.prepare(machine, output)
            try machine.load(elf)
            return (machine, "\(machine.run(maxInstructions: limit))")
        }
    }

    @Test("h-*.S guests pass, identically on the interpreter and the translator", arguments: hypervisorPrograms)
    func guestOnBothEngines(_ name: String) throws {
        let elf = try EngineDifferentialTests.assemble(Self.folder.appendingPathComponent(name))
        let (snapshot, _) = try EngineComparison.expectIdentical(name, Self.hypervisorGuest(elf, limit: 10_000_000))
        #expect(snapshot.stop == "\(StopReason.exited(code: 0))", "\(name) passes (an exit code is the failing check)")
    }

    @Test("h-*.S guests fail on the default machine (no H extension)", arguments: hypervisorPrograms)
    func guestWithoutExtension(_ name: String) throws {
        let elf = try EngineDifferentialTests.assemble(Self.folder.appendingPathComponent(name))
        let machine = try Machine(configuration: { var c = MachineConfiguration(); c.ramSize = 16 << 20; return c }())
        machine.console = .silent
        try machine.load(elf)
        #expect(machine.run(maxInstructions: 200_000) != .exited(code: 0))
    }

    static let qemuPresent = FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-riscv32")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/riscv64-unknown-elf-as")

    /// The same source built by GNU as/ld, run on QEMU's virt board with H, and on VirtLab.
    @Test("h-*.S guests pass on QEMU -cpu rv32,h=true and on VirtLab from the GNU-built image",
          .enabled(if: qemuPresent, "needs riscv64-unknown-elf-as/ld and qemu-system-riscv32"), arguments: hypervisorPrograms)
    func guestOnQEMU(_ name: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-h-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let object = directory.appendingPathComponent("g.o").path, elfPath = directory.appendingPathComponent("g.elf").path
        let source = Self.folder.appendingPathComponent(name).path
        let assembled = try QEMUComparisonTests.runTool("/usr/bin/riscv64-unknown-elf-as", [
            "-march=rv32ima_zicsr_zifencei_h", "-mabi=ilp32", "-mno-relax", "-I", Self.folder.path, "-o", object, source])
        try #require(assembled.status == 0, "GNU as: \(String(decoding: assembled.output, as: UTF8.self))")
        let linked = try QEMUComparisonTests.runTool("/usr/bin/riscv64-unknown-elf-ld", ["-m", "elf32lriscv", "--no-relax", "-Ttext=0x80000000", "-o", elfPath, object])
        try #require(linked.status == 0, "GNU ld: \(String(decoding: linked.output, as: UTF8.self))")
        let qemu = try QEMUComparisonTests.runTool("/usr/bin/timeout", ["20", "/usr/bin/qemu-system-riscv32", "-machine", "virt",
            "-cpu", "rv32,c=false,h=true", "-bios", "none", "-nographic", "-monitor", "none", "-serial", "null", "-kernel", elfPath])
        #expect(qemu.status == 0, "QEMU: check \(qemu.status) failed")
        let elf = try ELFFile(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: elfPath))))
        let (snapshot, _) = try EngineComparison.expectIdentical(name, Self.hypervisorGuest(elf, limit: 10_000_000))
        #expect(snapshot.stop == "\(StopReason.exited(code: qemu.status))")
    }
}
