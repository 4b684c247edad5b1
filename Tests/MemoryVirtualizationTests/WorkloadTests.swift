import Foundation
import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// The memory workloads (Guests/memory) and the random page-table programs: the same console bytes
/// on QEMU, bare VirtLab, trap-and-emulate and hardware-assisted; every translation audited.
@Suite("Memory workloads")
struct WorkloadTests {
    static let qemu = "/usr/bin/qemu-system-riscv32"
    static let qemuPresent = FileManager.default.isExecutableFile(atPath: qemu)

    static func image(_ workload: MemoryWorkload) throws -> ELFFile {
        try AuditFixtures.shippedImage("Sources/VLabCLI/Guests/memory/\(workload.imageName)")
    }

    /// The UART bytes of an ELF under qemu-system-riscv32 -machine virt -bios none.
    static func qemuConsole(_ path: String, memoryMiB: Int = 64) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["60", qemu, "-machine", "virt", "-bios", "none", "-nographic", "-m", "\(memoryMiB)M", "-kernel", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(bytes)
    }

    @Test("each workload prints the same bytes on qemu-system-riscv32 as on bare VirtLab",
          .enabled(if: qemuPresent, "needs qemu-system-riscv32"), arguments: MemoryWorkload.allCases)
    func sameAsQEMU(_ workload: MemoryWorkload) throws {
        let path = AuditFixtures.root.appendingPathComponent("Sources/VLabCLI/Guests/memory/\(workload.imageName)").path
        let bare = try BareMetal.run(try Self.image(workload), ramSize: Int(workload.memorySize), maxInstructions: 100_000_000)
        #expect(bare.exitCode == 0)
        let text = String(decoding: bare.console, as: UTF8.self)
        #expect(text.contains("\(workload.rawValue): checksum 0x"), "\(text)")
        #expect(try Self.qemuConsole(path) == bare.console)
    }

    @Test("each workload: every translation under shadow paging equals bare, same console and count",
          arguments: MemoryWorkload.allCases, AuditFixtures.Pager.allCases)
    func auditedUnderShadowPaging(_ workload: MemoryWorkload, _ pager: AuditFixtures.Pager) throws {
        let image = try Self.image(workload)
        let console = ConsoleBytes()
        let vm = try AuditFixtures.shadowGuest(image, memory: workload.memorySize, pager: pager, console: console.console)
        let report = try TranslationAudit(image: image, guest: .init(vm)).run()
        #expect(report.passed, "\(report)")
        #expect(report.guestResult == .exited(code: 0))
        #expect(report.bareConsole == console.bytes)
        #expect(report.bareInstructions == report.guestInstructions)
        #expect(report.checked > 20)
    }

    @Test("each workload: every translation under nested paging equals bare, same console and count",
          arguments: MemoryWorkload.allCases)
    func auditedUnderNestedPaging(_ workload: MemoryWorkload) throws {
        let image = try Self.image(workload)
        let console = ConsoleBytes()
        let guest = try AuditFixtures.nestedGuest(image, memory: workload.memorySize, console: console.console)
        let report = try TranslationAudit(image: image, guest: AuditFixtures.auditSubject(guest)).run()
        #expect(report.passed, "\(report)")
        #expect(report.guestResult == .exited(code: 0))
        #expect(report.bareConsole == console.bytes)
        #expect(report.checkedTwoStage == report.checked && report.checked > 20)
    }

    @Test("the committed workload images are what build.sh makes from the sources",
          .enabled(if: AuditFixtures.peer("riscv64-unknown-elf-gcc") != nil, "needs riscv64-unknown-elf-gcc"))
    func imagesAreReproducible() throws {
        let folder = AuditFixtures.root.appendingPathComponent("Sources/VLabCLI/Guests/memory")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("memory-workloads-\(getpid())")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [folder.appendingPathComponent("build.sh").path, output.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        for workload in MemoryWorkload.allCases {
            let built = try Data(contentsOf: output.appendingPathComponent(workload.imageName))
            let committed = try Data(contentsOf: folder.appendingPathComponent(workload.imageName))
            #expect(built == committed, "\(workload.imageName) differs from a fresh build: run build.sh and commit")
        }
    }

    static let seeds: [UInt64] = Array(1...10)

    @Test("random page-table programs: nested paging translates exactly as bare", arguments: seeds)
    func randomProgramsUnderNestedPaging(_ seed: UInt64) throws {
        let program = RandomPageTableProgram(seed: seed)
        let image = try program.image()
        let guest = try AuditFixtures.nestedGuest(image, memory: 16 << 20, walkCache: seed % 2 == 0)
        let report = try TranslationAudit(image: image, guest: AuditFixtures.auditSubject(guest)).run()
        #expect(report.passed, "seed \(seed): \(report)")
        #expect(report.guestResult == .exited(code: 0), "seed \(seed): \(String(describing: report.guestResult))")
        #expect(String(decoding: report.bareConsole, as: UTF8.self).hasPrefix("random page tables: checksum "))
        #expect(report.checked > 20)
    }

    @Test("random page-table programs: shadow paging translates exactly as bare", arguments: seeds, AuditFixtures.Pager.allCases)
    func randomProgramsUnderShadowPaging(_ seed: UInt64, _ pager: AuditFixtures.Pager) throws {
        let program = RandomPageTableProgram(seed: seed)
        let image = try program.image()
        let console = ConsoleBytes()
        let vm = try AuditFixtures.shadowGuest(image, memory: 16 << 20, pager: pager, console: console.console)
        let report = try TranslationAudit(image: image, guest: .init(vm)).run()
        #expect(report.passed, "seed \(seed): \(report)")
        #expect(report.guestResult == .exited(code: 0))
        #expect(report.bareConsole == console.bytes)
    }

    @Test("random page-table programs fault and print the same on qemu-system-riscv32 as on bare VirtLab",
          .enabled(if: qemuPresent, "needs qemu-system-riscv32"), arguments: [UInt64(1), 2, 3])
    func randomProgramsSameAsQEMU(_ seed: UInt64) throws {
        let program = RandomPageTableProgram(seed: seed)
        let image = try program.image()
        let bare = try BareMetal.run(image, ramSize: 16 << 20, maxInstructions: 10_000_000)
        #expect(bare.exitCode == 0)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("random-pt-\(seed)-\(getpid()).elf")
        let assembled = try Assembler.assemble(source: program.source, fileName: "random.S", base: 0x8000_0000)
        try Data(assembled.elfExecutable()).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let text = String(decoding: bare.console, as: UTF8.self)
        // The programs do fault (the handler's sum of causes is not zero) and print it.
        #expect(!text.hasSuffix(" faults 00000000\n"), "\(text)")
        #expect(try Self.qemuConsole(path.path) == bare.console, "\(text)")
    }
}
