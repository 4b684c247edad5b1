import Foundation
import Hypervisor
import RISCV
import Testing

/// `vlab boot --vmm` and `vlab bench vmm`, through the built executable.
@Suite("vlab boot --vmm and vlab bench vmm", .enabled(if: TestFiles.vlab != nil, "the vlab executable is not in .build/debug"))
struct CommandLineTests {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func vlab(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(TestFiles.vlab))
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("boot --vmm trap-and-emulate without an image prints what bare boot of kernel.elf prints, and --stats reports exits")
    func bootShippedKernel() throws {
        let bare = try Self.vlab(["boot", TestFiles.kernel.path])
        let virtualized = try Self.vlab(["boot", "--vmm", "trap-and-emulate", "--stats"])
        #expect(bare.status == 0 && virtualized.status == 0, "\(virtualized.stderr)")
        #expect(virtualized.stdout == bare.stdout)
        #expect(virtualized.stderr.contains("exits: "))
        #expect(virtualized.stderr.contains("csr-write"))
        #expect(virtualized.stderr.contains("x bare"))
    }

    @Test("a guest's failure status and a guest fault reach vlab's exit status")
    func failures() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmm-cli-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let loop = directory.appendingPathComponent("loop.elf")
        try Data(try Assembler.assemble(source: "l: j l\n", fileName: "loop.S", base: 0x8000_0000).elfExecutable()).write(to: loop)
        let looped = try Self.vlab(["boot", "--vmm", "trap-and-emulate", "--max-instructions", "5000", loop.path])
        #expect(looped.status != 0)
        #expect(looped.stderr.contains("loop.elf: guest fault at pc 0x80000000"), "\(looped.stderr)")
        let garbage = directory.appendingPathComponent("garbage.elf")
        try Data([0x7F, 0x45, 0x4C, 0x46, 1, 1]).write(to: garbage)
        let corrupt = try Self.vlab(["boot", "--vmm", "trap-and-emulate", garbage.path])
        #expect(corrupt.status != 0)
        #expect(corrupt.stderr.split(separator: "\n").count == 1, "one line: \(corrupt.stderr)")
    }

    @Test("a mode that is not built yet is a one-line error")
    func unavailableMode() throws {
        guard let mode = VMMMode.allCases.first(where: { VMMModeCatalog.implementation(of: $0) == nil }) else { return }
        let run = try Self.vlab(["boot", "--vmm", mode.rawValue, TestFiles.kernel.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("mode not available yet"))
    }

    @Test("bench vmm prints a row per mode, with trap-and-emulate's exits and overhead")
    func bench() throws {
        let run = try Self.vlab(["bench", "vmm", "--repeat", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        for mode in ["bare"] + VMMMode.allCases.map(\.rawValue) {
            #expect(lines.contains { $0.hasPrefix(mode + " ") }, "no row for \(mode)")
        }
        let row = try #require(lines.first { $0.hasPrefix("trap-and-emulate ") })
        #expect(row.contains("csr-write") && row.hasSuffix("ok"))
    }

    @Test("boot --vmm --domains 2 tags every line; each domain prints what the kernel prints alone")
    func domains() throws {
        let bare = try Self.vlab(["boot", TestFiles.kernel.path])
        let run = try Self.vlab(["boot", "--vmm", "trap-and-emulate", "--domains", "2", "--ram", "16", "--scheduler", "credit"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.allSatisfy { $0.hasPrefix("[dom1] ") || $0.hasPrefix("[dom2] ") })
        for tag in ["[dom1] ", "[dom2] "] {
            let own = lines.filter { $0.hasPrefix(tag) }.map { $0.dropFirst(tag.count) }.joined(separator: "\n") + "\n"
            #expect(own == bare.stdout, "\(tag)")
        }
        #expect(run.stderr.contains("dom1: exited 0") && run.stderr.contains("dom2: exited 0"))
        let missingMode = try Self.vlab(["boot", "--domains", "2"])
        #expect(missingMode.status != 0 && missingMode.stderr.contains("--domains needs --vmm"))
    }
}
