import Foundation

/// The GNU RISC-V cross binutils, the reference the assembler and ELF writer are checked against.
/// Tests that need them are skipped (with a message) where they are not installed.
enum GNUToolchain {
    static let prefix = "riscv64-unknown-elf-"

    /// The full path of a tool, searched on PATH and in /usr/bin.
    static func path(of tool: String) -> String? {
        let name = prefix + tool
        var directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories.append("/usr/bin")
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static var isInstalled: Bool {
        ["as", "ld", "objcopy", "objdump", "readelf"].allSatisfy { path(of: $0) != nil }
    }

    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a binutils tool and collects its output.
    static func run(_ tool: String, _ arguments: [String], in directory: URL? = nil) throws -> Output {
        guard let executable = path(of: tool) else { throw Failure(description: "\(prefix)\(tool) is not installed") }
        return try runProgram(executable, arguments, in: directory)
    }

    /// Runs any program and collects its output.
    static func runProgram(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        // Output goes to files, not pipes, so a chatty tool can never block on a full pipe.
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        let outBytes = try Data(contentsOf: outURL), errBytes = try Data(contentsOf: errURL)
        return Output(status: process.terminationStatus,
                      standardOutput: String(decoding: outBytes, as: UTF8.self),
                      standardError: String(decoding: errBytes, as: UTF8.self))
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("virtlab-asm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Assembles and links a source file with GNU as + ld using the corpus linker script,
    /// returning the executable's bytes.
    static func assembleAndLink(_ source: URL, base: UInt32 = 0x8000_0000, includeDirectory: URL,
                                linkerScript: URL, in directory: URL) throws -> [UInt8] {
        let object = directory.appendingPathComponent("gnu.o").path
        let executable = directory.appendingPathComponent("gnu.elf").path
        let assembled = try run("as", ["-march=rv32ima_zicsr_zifencei", "-mabi=ilp32", "-mno-relax",
                                       "-I", includeDirectory.path, source.path, "-o", object])
        guard assembled.status == 0 else { throw Failure(description: "GNU as failed:\n\(assembled.standardError)") }
        let linked = try run("ld", ["-m", "elf32lriscv", "--no-relax", "--no-warn-rwx-segments",
                                    "--defsym=BASE=0x\(String(base, radix: 16))",
                                    "-T", linkerScript.path, object, "-o", executable])
        guard linked.status == 0 else { throw Failure(description: "GNU ld failed:\n\(linked.standardError)") }
        return Array(try Data(contentsOf: URL(fileURLWithPath: executable)))
    }
}
