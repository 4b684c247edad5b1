import ArgumentParser
import Foundation
import Machine
import RISCV

/// A one-line, user-facing failure: `vlab` prints `Error: <message>` and exits non-zero.
/// The message always names the input it is about.
public struct CommandFailure: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads a whole input file, with an error that names it.
func readInput(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            throw CommandFailure("\(path): \(isDirectory.boolValue ? "is a directory" : "cannot be read")")
        }
        throw CommandFailure("\(path): no such file")
    }
    return [UInt8](data)
}

/// Parses an ELF file, naming it in the error.
func readELF(_ path: String) throws -> ELFFile {
    let bytes = try readInput(path)
    do {
        return try ELFFile(bytes: bytes)
    } catch {
        throw CommandFailure("\(path): \(error.message)")
    }
}

/// Writes a file atomically (temporary file, then rename), so a failed run never leaves half an output.
func writeOutput(_ bytes: [UInt8], to path: String, executable: Bool = false) throws {
    let url = URL(fileURLWithPath: path)
    do {
        try Data(bytes).write(to: url, options: .atomic)
        if executable {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
    } catch {
        throw CommandFailure("\(path): cannot write: \(error.localizedDescription)")
    }
}

/// Parses `0x8000_0000`, `0x80000000` or decimal, for address options.
func parseAddress(_ text: String) -> UInt32? {
    let cleaned = text.replacingOccurrences(of: "_", with: "").lowercased()
    if cleaned.hasPrefix("0x") { return UInt32(cleaned.dropFirst(2), radix: 16) }
    return UInt32(cleaned)
}

/// Options shared by the commands that run a guest.
struct ExecutionOptions: ParsableArguments {
    @Flag(help: "Print retired instructions, wall time and MIPS to stderr when the guest stops.")
    var stats = false

    @Option(help: ArgumentHelp("Stop a runaway guest after N retired instructions.", valueName: "N"))
    var maxInstructions: UInt64?

    @Option(help: ArgumentHelp("The execution engine: 'translator' (translated basic blocks, the default) or 'interpreter' (one instruction at a time).", valueName: "engine"))
    var engine: ExecutionEngineKind = .translator

    func validate() throws {
        if let n = maxInstructions, n == 0 {
            throw ValidationError("--max-instructions must be at least 1")
        }
    }
}

extension ExecutionEngineKind: ExpressibleByArgument {}

/// Wall-clock timing for `--stats`.
struct Stopwatch {
    private let start = DispatchTime.now().uptimeNanoseconds
    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}

func printStatistics(instructions: UInt64, seconds: Double, engine machine: Machine) {
    let mips = seconds > 0 ? Double(instructions) / seconds / 1e6 : 0
    var text = String(format: "vlab: %llu instructions in %.3f s (%.1f MIPS, %@)\n", instructions, seconds, mips,
                      machine.configuration.engine.rawValue)
    if machine.configuration.engine == .translator {
        let s = machine.engineStatistics
        text += "vlab: translator: \(s.blocksTranslated) blocks translated (\(s.instructionsTranslated) instructions), "
            + "\(s.blocksExecuted) executed, \(s.chainedTransitions) by chain links; "
            + "\(s.invalidatedBlocks) invalidated, \(s.evictions) evicted in \(s.capacityFlushes) flushes; "
            + "cache \(s.cacheBytes) of \(s.cacheCapacityBytes) bytes\n"
    }
    FileHandle.standardError.write(Data(text.utf8))
}

func printDiagnostic(_ text: String) {
    FileHandle.standardError.write(Data(("vlab: " + text + "\n").utf8))
}
