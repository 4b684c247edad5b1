import ArgumentParser
import Foundation
import Machine

/// `--gdb`, `--trace`, `--trace-traps`, `--trace-range`, `--trace-file`: debugging options shared
/// by `vlab run` and `vlab boot`. When none is given, the commands run the guest exactly as before
/// (the engines never look at these options).
struct DebugOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Wait for gdb (gdb-multiarch: target remote :PORT) on 127.0.0.1:PORT before running.", valueName: "PORT"))
    var gdb: UInt16?

    @Flag(help: "Print every retired instruction (pc, word, disassembly, register written) to stderr.")
    var trace = false

    @Flag(help: "Print every trap and interrupt (cause, pc, tval, privilege change) to stderr.")
    var traceTraps = false

    @Option(help: ArgumentHelp("Trace only pcs in LO..<HI (hex with 0x, or decimal).", valueName: "LO:HI"))
    var traceRange: String?

    @Option(help: ArgumentHelp("Write the trace to this file instead of stderr.", valueName: "PATH"))
    var traceFile: String?

    func validate() throws {
        if (traceRange != nil || traceFile != nil) && !trace && !traceTraps {
            throw ValidationError("--trace-range and --trace-file need --trace or --trace-traps")
        }
        if let traceRange, parsedRange(traceRange) == nil {
            throw ValidationError("--trace-range \(traceRange): expected LO:HI with LO < HI, e.g. 0x80000000:0x80001000")
        }
        if gdb == 0 { throw ValidationError("--gdb 0: give a port number from 1 to 65535") }
    }

    var isActive: Bool { gdb != nil || trace || traceTraps }

    func parsedRange(_ text: String) -> Range<UInt64>? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let lower = parseAddress(String(parts[0])) else { return nil }
        // HI may be 0x100000000 to reach the top of the address space.
        let upperText = parts[1].replacingOccurrences(of: "_", with: "").lowercased()
        let upper = upperText.hasPrefix("0x") ? UInt64(upperText.dropFirst(2), radix: 16) : UInt64(upperText)
        guard let upper, UInt64(lower) < upper, upper <= 1 << 32 else { return nil }
        return UInt64(lower)..<upper
    }

    /// Runs `base` to its end under the requested tracing and debugging. Returns how it ended, or
    /// nil when `maxInstructions` ran out first.
    func drive(_ base: DebugTarget, name: String, maxInstructions: UInt64?) throws -> DebugTargetEnd? {
        var output: TraceOutput? = nil
        var target = base
        if trace || traceTraps {
            let sink = try TraceOutput(path: traceFile)
            output = sink
            target = TracedTarget(base, options: TraceOptions(
                instructions: trace, traps: traceTraps, range: traceRange.flatMap(parsedRange)),
                write: { sink.write($0) })
        }
        defer { output?.flush() }
        if let port = gdb {
            let listener: GDBListener
            do {
                listener = try GDBListener(port: port)
            } catch {
                throw CommandFailure("--gdb \(port): \(error.message)")
            }
            printDiagnostic("waiting for gdb on 127.0.0.1:\(listener.port)")
            let connection: GDBConnection
            do {
                connection = try listener.accept()
            } catch {
                throw CommandFailure("--gdb \(port): \(error.message)")
            }
            let server = GDBServer(target: target, connection: connection)
            server.log = { message in
                output?.flush()
                printDiagnostic(message)
            }
            switch server.serve() {
            case .detached:
                break
            case .disconnected(let message):
                printDiagnostic(message)
            case .killed:
                output?.flush()
                throw CommandFailure("\(name): killed by gdb")
            case .targetEnded(let end):
                return end
            }
        }
        // On to the end, or to the instruction limit (counted from the start, gdb's time included).
        let retired = target.machine.retiredInstructions
        if let maxInstructions {
            guard retired < maxInstructions else { return nil }
            return target.resume(maxInstructions: maxInstructions - retired)
        }
        while true {
            if let end = target.resume(maxInstructions: 1 << 40) { return end }
        }
    }
}

/// Trace lines, buffered (a line per instruction would otherwise be a write system call each),
/// to stderr or a file.
final class TraceOutput {
    private let handle: FileHandle
    private var buffer: [UInt8] = []

    init(path: String?) throws {
        guard let path else {
            handle = FileHandle.standardError
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let file = FileHandle(forWritingAtPath: path) else {
            throw CommandFailure("--trace-file \(path): cannot create the file")
        }
        handle = file
    }

    func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

extension DebugTargetEnd? {
    /// The end as `vlab run` reports it.
    var linuxExit: LinuxExit {
        switch self {
        case nil: return .instructionLimit
        case .exited(let code)?: return .exited(status: code)
        case .killed(let signal)?: return .killed(signal: signal)
        case .fault(let message)?: return .fault(message)
        }
    }

    /// The end as `vlab boot` reports it.
    var stopReason: StopReason {
        switch self {
        case nil: return .instructionLimit
        case .exited(let code)?: return .exited(code: code)
        case .killed(let signal)?: return .guestFault("killed by signal \(signal)")
        case .fault(let message)?: return .guestFault(message)
        }
    }
}
