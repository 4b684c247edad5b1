import Foundation
import Machine
import RISCV
import Testing

/// Running the Linux guest programs of Tests/Guests/linux under vlab's `LinuxProcess` and under
/// `qemu-riscv32`, capturing stdout, stderr and how each ended, so tests can compare them.
enum LinuxGuests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Guests/linux")

    static let programs = ["hello", "args", "upper", "status", "heap", "fileio", "sysinfo", "compute", "signals", "long", "debuggee"]

    static func path(_ program: String) -> String { directory.appendingPathComponent("\(program).elf").path }

    static func tool(_ name: String) -> String? {
        ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"]
            .map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static let qemu = tool("qemu-riscv32")
    static let gcc = tool("riscv64-unknown-elf-gcc")

    /// How a run ended, in terms both runners share.
    enum Ending: Equatable, CustomStringConvertible {
        case exited(Int32)
        case killed(Int32)
        case other(String)
        var description: String {
            switch self {
            case .exited(let s): return "exit status \(s)"
            case .killed(let s): return "killed by signal \(s)"
            case .other(let s): return s
            }
        }
    }

    struct Run: Equatable {
        var stdout: [UInt8]
        var stderr: [UInt8]
        var ending: Ending
        var trace: [String] = []
        var text: String { String(decoding: stdout, as: UTF8.self) }
        var errorText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// A scratch folder for one test's files, removed by the caller with `remove`.
    static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-linux-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a guest under `LinuxProcess` on a fresh machine. stdin comes from `input`; stdout and
    /// stderr go to files that are read back.
    static func runVlab(_ program: String, _ arguments: [String] = [], environment: [String] = [],
                        input: [UInt8] = [], maxInstructions: UInt64? = 2_000_000_000,
                        ramSize: Int = 32 << 20) throws -> Run {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inputURL = scratch.appendingPathComponent("stdin")
        let outputURL = scratch.appendingPathComponent("stdout")
        let errorURL = scratch.appendingPathComponent("stderr")
        try Data(input).write(to: inputURL)
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let stdin = try FileHandle(forReadingFrom: inputURL)
        let stdout = try FileHandle(forWritingTo: outputURL)
        let stderr = try FileHandle(forWritingTo: errorURL)
        defer {
            try? stdin.close()
            try? stdout.close()
            try? stderr.close()
        }

        var configuration = MachineConfiguration()
        configuration.interceptUserTraps = true
        configuration.ramSize = ramSize
        let machine = try Machine(configuration: configuration)
        let elf = try ELFFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path(program)))))
        let process = try LinuxProcess(
            machine: machine, executable: elf, arguments: [path(program)] + arguments, environment: environment,
            standardStreams: LinuxStandardStreams(input: stdin.fileDescriptor, output: stdout.fileDescriptor,
                                                  error: stderr.fileDescriptor))
        var trace: [String] = []
        process.strace = { trace.append($0) }
        let ending: Ending
        switch process.run(maxInstructions: maxInstructions) {
        case .exited(let status): ending = .exited(status)
        case .killed(let signal): ending = .killed(signal)
        case .instructionLimit: ending = .other("instruction limit")
        case .fault(let message): ending = .other("fault: \(message)")
        }
        return Run(stdout: Array(try Data(contentsOf: outputURL)), stderr: Array(try Data(contentsOf: errorURL)),
                   ending: ending, trace: trace)
    }

    /// Runs a guest under qemu-riscv32 with exactly this environment.
    static func runQEMU(_ program: String, _ arguments: [String] = [], environment: [String] = [],
                        input: [UInt8] = [], strace: Bool = false) throws -> Run {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inputURL = scratch.appendingPathComponent("stdin")
        let outputURL = scratch.appendingPathComponent("stdout")
        let errorURL = scratch.appendingPathComponent("stderr")
        try Data(input).write(to: inputURL)
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
        let process = Process()
        // Through `env -i`, which keeps the environment's order (a Process environment is a
        // dictionary, so its order would be arbitrary) and adds nothing to it. qemu-riscv32
        // hands its guest the environment in reverse order (its list of variables is built by
        // prepending); Linux keeps execve's order, as LinuxProcess does. Reversing here makes
        // the guest see the same envp under both.
        process.executableURL = URL(fileURLWithPath: tool("env") ?? "/usr/bin/env")
        process.arguments = ["-i"] + environment.reversed() + [qemu ?? "qemu-riscv32"] + (strace ? ["-strace"] : [])
            + [path(program)] + arguments
        process.standardInput = try FileHandle(forReadingFrom: inputURL)
        process.standardOutput = try FileHandle(forWritingTo: outputURL)
        process.standardError = try FileHandle(forWritingTo: errorURL)
        try process.run()
        process.waitUntilExit()
        let ending: Ending = process.terminationReason == .exit
            ? .exited(process.terminationStatus) : .killed(process.terminationStatus)
        return Run(stdout: Array(try Data(contentsOf: outputURL)), stderr: Array(try Data(contentsOf: errorURL)),
                   ending: ending)
    }
}
