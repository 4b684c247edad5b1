import Foundation

/// The real tools VirtLab is checked against: GNU binutils for RV32, and QEMU.
/// Tests that need one are disabled, with a message saying which, where it is not installed.
enum Peers {
    static func find(_ name: String) -> String? {
        var directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories += ["/usr/bin", "/usr/local/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static let gnuAs = find("riscv64-unknown-elf-as")
    static let gnuLd = find("riscv64-unknown-elf-ld")
    static let qemuSystem = find("qemu-system-riscv32")
    static let qemuUser = find("qemu-riscv32")
    static var hasGNUToolchain: Bool { gnuAs != nil && gnuLd != nil }

    struct Output {
        var status: Int32
        var standardOutput: [UInt8]
        var standardError: [UInt8]
        var text: String { String(decoding: standardOutput, as: UTF8.self) }
        var errorText: String { String(decoding: standardError, as: UTF8.self) }
    }

    /// Runs a program to completion with a wall-time limit, output collected through files
    /// (so a chatty program never blocks on a full pipe).
    static func run(_ executable: String, _ arguments: [String], standardInput: [UInt8] = [],
                    directory: URL? = nil, timeout: TimeInterval = 120) throws -> Output {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inURL = scratch.appendingPathComponent("stdin")
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        try Data(standardInput).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw PeerFailure("\(executable) \(arguments.joined(separator: " ")) did not finish in \(Int(timeout)) s")
        }
        return Output(status: process.terminationStatus,
                      standardOutput: [UInt8](try Data(contentsOf: outURL)),
                      standardError: [UInt8](try Data(contentsOf: errURL)))
    }

    /// Assembles and links one source with GNU as + ld at 0x80000000; returns the ELF's path.
    /// `layout` is VirtLab's (the assembler's linker script) or ld's default with -Ttext.
    enum Layout { case virtLab, ldDefault }
    static func gnuBuild(_ source: URL, into directory: URL, layout: Layout = .ldDefault) throws -> URL {
        guard let gnuAs, let gnuLd else { throw PeerFailure("GNU binutils for riscv64-unknown-elf are not installed") }
        let name = source.deletingPathExtension().lastPathComponent
        let object = directory.appendingPathComponent(name + ".o")
        let elf = directory.appendingPathComponent(name + ".elf")
        let assembled = try run(gnuAs, ["-march=rv32ima_zicsr_zifencei", "-mabi=ilp32", "-mno-relax",
                                        "-I", source.deletingLastPathComponent().path, source.path, "-o", object.path])
        guard assembled.status == 0 else { throw PeerFailure("GNU as \(name): \(assembled.errorText)") }
        let placement = layout == .virtLab ? ["-T", linkerScript.path] : ["-Ttext=0x80000000"]
        let linked = try run(gnuLd, ["-m", "elf32lriscv", "--no-relax"] + placement + [object.path, "-o", elf.path])
        guard linked.status == 0 else { throw PeerFailure("GNU ld \(name): \(linked.errorText)") }
        return elf
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

struct PeerFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Paths inside this checkout.
enum Checkout {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let guests = root.appendingPathComponent("Tests/Guests")
    static let privileged = guests.appendingPathComponent("privileged")
    static let demo = root.appendingPathComponent("Sources/VLabCLI/Guests/hello.S")

    static func files(in directory: URL, withExtension ext: String) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// The `vlab` executable `swift test` built beside the test bundle.
    static var vlabExecutable: String? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("vlab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }
}

/// The linker script stating VirtLab's layout for GNU ld (same one the assembler corpus uses).
let linkerScript = Checkout.root.appendingPathComponent("Tests/RISCVTests/AssemblerCorpus/link.ld")
