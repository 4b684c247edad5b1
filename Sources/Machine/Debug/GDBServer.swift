import RISCV

/// How a debugging session ended.
public enum GDBSessionEnd: Equatable, Sendable {
    /// gdb detached (`D`): breakpoints are gone and the guest should run on to its end.
    case detached
    /// The connection closed or broke without a detach; the guest should run on, as after a detach.
    /// The message says what happened.
    case disconnected(String)
    /// gdb killed the guest (`k`, `vKill`).
    case killed
    /// The guest ended while gdb was attached (gdb has been told).
    case targetEnded(DebugTargetEnd)
}

/// A GDB remote serial protocol server for one hart: gdb (`gdb-multiarch`, `target remote`)
/// reads and writes registers and memory, plants software breakpoints, steps, continues and
/// interrupts the guest.
///
/// The server drives the target from outside the engines: `continue` runs the target in bounded
/// chunks (`chunkInstructions`) and looks at the socket between chunks for gdb's Ctrl-C (0x03);
/// a breakpoint is an EBREAK planted in guest memory, which trap entry turns into a stop (see
/// `Machine.insertBreakpoint`); a step is the target's own single step. Memory goes through the
/// hart's current translation without side effects, with planted breakpoints hidden.
///
/// Not Sendable: it drives a machine, which belongs to one thread.
public final class GDBServer {
    public let target: DebugTarget
    let connection: GDBConnection
    let description: GDBTargetDescription
    /// Instructions per piece of a `continue`, between looks at the socket.
    public var chunkInstructions: UInt64 = 200_000
    /// Where the server reports what happened to the session (a closed connection, a broken
    /// packet). The CLI prints these to stderr.
    public var log: (String) -> Void = { _ in }

    private var decoder = RSPDecoder()
    private var pending: [RSPEvent] = []
    private var acknowledging = true
    private var lastReply: [UInt8] = []
    private var lastStop = "S05"
    private var clientReportsSoftwareBreakpoints = false

    public init(target: DebugTarget, connection: GDBConnection) {
        self.target = target
        self.connection = connection
        description = GDBTargetDescription(machine: target.machine)
    }

    var machine: Machine { target.machine }

    /// Serves gdb until it detaches, kills the guest, disconnects, or the guest ends.
    /// Breakpoints are removed before returning, so the guest then runs as if never debugged.
    public func serve() -> GDBSessionEnd {
        defer {
            machine.removeAllBreakpoints()
            _ = machine.takeBreakpointHit()
            connection.close()
        }
        do {
            while true {
                guard let event = try nextEvent(timeoutMilliseconds: -1) else {
                    return .disconnected(decoder.isInsidePacket
                        ? "gdb closed the connection in the middle of a packet; the guest runs on"
                        : "gdb closed the connection without detaching; the guest runs on")
                }
                if let end = try handle(event) { return end }
            }
        } catch {
            return .disconnected("\(error.message); the guest runs on")
        }
    }

    // MARK: Events and replies

    /// The next event, or nil when the connection closed. Timeout 0 looks without waiting and
    /// returns `.acknowledged` as a harmless "nothing" marker only if bytes came; see `poll`.
    private func nextEvent(timeoutMilliseconds: Int32) throws(GDBError) -> RSPEvent? {
        while pending.isEmpty {
            guard let bytes = try connection.receive(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
            pending += decoder.feed(bytes)
            if bytes.isEmpty && timeoutMilliseconds >= 0 { return .acknowledged }
        }
        return pending.removeFirst()
    }

    private func handle(_ event: RSPEvent) throws(GDBError) -> GDBSessionEnd? {
        switch event {
        case .acknowledged, .interrupt:
            // A Ctrl-C while the guest is already stopped has nothing to stop.
            return nil
        case .retransmitRequested:
            if !lastReply.isEmpty { try connection.send(lastReply) }
            return nil
        case .badChecksum:
            log("gdb: a packet arrived with a bad checksum; asked for it again")
            if acknowledging { try connection.send([UInt8(ascii: "-")]) }
            return nil
        case .oversized:
            log("gdb: a packet longer than \(RSP.maximumPayload) bytes was discarded")
            if acknowledging { try connection.send([UInt8(ascii: "+")]) }
            try reply("E01")
            return nil
        case .packet(let payload):
            if acknowledging { try connection.send([UInt8(ascii: "+")]) }
            return try execute(payload)
        }
    }

    private func reply(_ payload: String) throws(GDBError) {
        try reply(Array(payload.utf8))
    }

    private func reply(_ payload: [UInt8]) throws(GDBError) {
        lastReply = RSP.frame(payload)
        try connection.send(lastReply)
    }

    // MARK: Commands

    private func execute(_ payload: [UInt8]) throws(GDBError) -> GDBSessionEnd? {
        guard let command = payload.first else {
            try reply("")
            return nil
        }
        let text = String(decoding: payload, as: UTF8.self)
        let rest = String(text.dropFirst())
        switch command {
        case UInt8(ascii: "?"):
            try reply(lastStop)
        case UInt8(ascii: "g"):
            var out = ""
            for r in 0..<32 { out += littleEndianHex(machine.register(Register(UInt8(r)))) }
            out += littleEndianHex(machine.pc)
            try reply(out)
        case UInt8(ascii: "G"):
            guard let bytes = hexBytes(rest), bytes.count >= 4 * GDBTargetDescription.generalCount else {
                return try errorReply(22)
            }
            for r in 1..<32 { machine.setRegister(Register(UInt8(r)), word(bytes, at: 4 * r)) }
            machine.pc = word(bytes, at: 4 * 32)
            try reply("OK")
        case UInt8(ascii: "p"):
            guard let number = Int(rest, radix: 16), let value = readRegister(number) else { return try errorReply(22) }
            try reply(littleEndianHex(value))
        case UInt8(ascii: "P"):
            let parts = rest.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let number = Int(parts[0], radix: 16), let bytes = hexBytes(String(parts[1])),
                  bytes.count == 4, writeRegister(number, word(bytes, at: 0)) else { return try errorReply(22) }
            try reply("OK")
        case UInt8(ascii: "m"):
            guard let (address, length) = addressAndLength(rest), length <= RSP.maximumPayload / 2 else {
                return try errorReply(22)
            }
            let bytes = machine.debugRead(address, count: length)
            if bytes.isEmpty && length > 0 { return try errorReply(14) }
            try reply(bytes.map { String(RSP.hexDigits($0).map { Character(UnicodeScalar($0)) }) }.joined())
        case UInt8(ascii: "M"):
            let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let (address, length) = addressAndLength(String(parts[0])),
                  let bytes = hexBytes(String(parts[1])), bytes.count == length else { return try errorReply(22) }
            try writeMemory(address, bytes)
        case UInt8(ascii: "X"):
            // Binary data after the colon (already unescaped by the framing).
            guard let colon = payload.firstIndex(of: UInt8(ascii: ":")),
                  let (address, length) = addressAndLength(String(decoding: payload[1..<colon], as: UTF8.self)),
                  payload.count - colon - 1 == length else { return try errorReply(22) }
            try writeMemory(address, Array(payload[(colon + 1)...]))
        case UInt8(ascii: "c"), UInt8(ascii: "C"):
            // `c [addr]`, `C sig[;addr]`: the signal is the host's business, not the hart's; ignore it.
            if let address = resumeAddress(command == UInt8(ascii: "c") ? rest : String(rest.drop { $0 != ";" }.dropFirst())) {
                machine.pc = address
            }
            return try resume(stepping: false)
        case UInt8(ascii: "s"), UInt8(ascii: "S"):
            if let address = resumeAddress(command == UInt8(ascii: "s") ? rest : String(rest.drop { $0 != ";" }.dropFirst())) {
                machine.pc = address
            }
            return try resume(stepping: true)
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            return try breakpointCommand(insert: command == UInt8(ascii: "Z"), rest)
        case UInt8(ascii: "H"), UInt8(ascii: "T"):
            try reply("OK")  // one hart, thread 1: any thread selection is it
        case UInt8(ascii: "k"):
            return .killed
        case UInt8(ascii: "D"):
            try reply("OK")
            return .detached
        case UInt8(ascii: "q"), UInt8(ascii: "Q"):
            try query(text)
        case UInt8(ascii: "v"):
            return try verbose(text)
        default:
            try reply("")  // the empty reply: "not supported"
        }
        return nil
    }

    private func errorReply(_ code: UInt8) throws(GDBError) -> GDBSessionEnd? {
        try reply("E" + String(RSP.hexDigits(code).map { Character(UnicodeScalar($0)) }))
        return nil
    }

    private func query(_ text: String) throws(GDBError) {
        if text.hasPrefix("qSupported") {
            clientReportsSoftwareBreakpoints = text.contains("swbreak+")
            try reply("PacketSize=\(String(RSP.maximumPayload, radix: 16));qXfer:features:read+;QStartNoAckMode+;swbreak+;vContSupported+")
        } else if text == "QStartNoAckMode" {
            try reply("OK")
            acknowledging = false
        } else if text.hasPrefix("qXfer:features:read:") {
            try transferFeatures(String(text.dropFirst("qXfer:features:read:".count)))
        } else if text.hasPrefix("qAttached") {
            // "Attached to an existing process": quitting gdb detaches rather than kills, so the
            // guest runs to its end whichever way gdb leaves.
            try reply("1")
        } else if text == "qC" {
            try reply("QC1")
        } else if text == "qfThreadInfo" {
            try reply("m1")
        } else if text == "qsThreadInfo" {
            try reply("l")
        } else if text.hasPrefix("qSymbol") {
            try reply("OK")
        } else {
            try reply("")
        }
    }

    /// `qXfer:features:read:annex:offset,length`: a window onto the XML, `m` if more follows, `l` if last.
    private func transferFeatures(_ arguments: String) throws(GDBError) {
        let parts = arguments.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let (offset, length) = addressAndLength(String(parts[1])) else {
            try reply("E16")
            return
        }
        guard parts[0] == "target.xml" else {
            try reply("E00")
            return
        }
        let document = Array(description.xml.utf8)
        let start = min(Int(offset), document.count)
        let end = min(start + length, document.count)
        try reply([UInt8(ascii: end < document.count ? "m" : "l")] + document[start..<end])
    }

    private func verbose(_ text: String) throws(GDBError) -> GDBSessionEnd? {
        if text == "vCont?" {
            try reply("vCont;c;C;s;S")
        } else if text.hasPrefix("vCont;") {
            // Actions apply to threads; there is one. The first action decides.
            let action = text.dropFirst("vCont;".count).split(separator: ";").first.map(String.init) ?? ""
            switch action.first {
            case "c", "C": return try resume(stepping: false)
            case "s", "S": return try resume(stepping: true)
            default: try reply("E16")
            }
        } else if text.hasPrefix("vKill") {
            try reply("OK")
            return .killed
        } else {
            try reply("")
        }
        return nil
    }

    private func breakpointCommand(insert: Bool, _ arguments: String) throws(GDBError) -> GDBSessionEnd? {
        let fields = arguments.split(separator: ",")
        guard fields.count >= 2, let type = Int(fields[0]), let address = UInt32(fields[1], radix: 16) else {
            return try errorReply(22)
        }
        switch type {
        case 0, 1:
            // Software and "hardware" breakpoints are the same thing here: a planted EBREAK.
            if insert {
                do {
                    try machine.insertBreakpoint(at: address)
                } catch {
                    return try errorReply(14)
                }
            } else {
                machine.removeBreakpoint(at: address)
            }
            try reply("OK")
        default:
            // Watchpoints would need every store checked; gdb falls back to software watchpoints
            // (single steps) when the stub says it has none.
            try reply("")
        }
        return nil
    }

    private func writeMemory(_ address: UInt32, _ bytes: [UInt8]) throws(GDBError) {
        do {
            try machine.debugWrite(address, bytes)
            try reply("OK")
        } catch {
            try reply("E14")
        }
    }

    // MARK: Running

    /// Continues or steps, then sends the stop reply. Between chunks of a continue, the socket is
    /// polled: a Ctrl-C stops the guest (SIGINT), a closed connection ends the session.
    private func resume(stepping: Bool) throws(GDBError) -> GDBSessionEnd? {
        _ = machine.takeBreakpointHit()
        // First, the instruction under a breakpoint at pc (if any) runs with the breakpoint lifted.
        var end = machine.withBreakpointLifted { target.step() }
        var hit = machine.takeBreakpointHit() != nil
        var interrupted = false
        if !stepping && end == nil && !hit {
            while end == nil {
                end = target.resume(maxInstructions: chunkInstructions)
                hit = machine.takeBreakpointHit() != nil
                if end != nil || hit { break }
                guard let event = try nextEvent(timeoutMilliseconds: 0) else {
                    return .disconnected("gdb closed the connection while the guest was running; the guest runs on")
                }
                if event == .interrupt {
                    interrupted = true
                    break
                }
                if event != .acknowledged { pending.insert(event, at: 0) }
            }
        }
        if let end {
            try report(end)
            return .targetEnded(end)
        }
        let signal = interrupted ? "02" : "05"
        lastStop = "T\(signal)thread:1;" + (hit && clientReportsSoftwareBreakpoints ? "swbreak:;" : "")
        try reply(lastStop)
        return nil
    }

    /// Tells gdb the guest is gone: `W status` for an exit, `X signal` for a kill or a fault
    /// (the fault's message first, as console output gdb prints).
    private func report(_ end: DebugTargetEnd) throws(GDBError) {
        switch end {
        case .exited(let code):
            try reply("W" + String(RSP.hexDigits(UInt8(truncatingIfNeeded: code)).map { Character(UnicodeScalar($0)) }))
        case .killed(let signal):
            try reply("X" + String(RSP.hexDigits(UInt8(truncatingIfNeeded: signal)).map { Character(UnicodeScalar($0)) }))
        case .fault(let message):
            let text = Array("vlab: guest fault: \(message)\n".utf8)
            try reply("O" + text.map { String(RSP.hexDigits($0).map { Character(UnicodeScalar($0)) }) }.joined())
            try reply("X06")  // SIGABRT: the machine cannot go on
        }
    }

    // MARK: Registers

    private func readRegister(_ number: Int) -> UInt32? {
        switch number {
        case 0..<32: return machine.register(Register(UInt8(number)))
        case GDBTargetDescription.pc: return machine.pc
        case GDBTargetDescription.privilege: return UInt32(machine.privilege.rawValue)
        default: return description.csr(forRegister: number).map { machine.readCSR($0) }
        }
    }

    private func writeRegister(_ number: Int, _ value: UInt32) -> Bool {
        switch number {
        case 0..<32: machine.setRegister(Register(UInt8(number)), value)
        case GDBTargetDescription.pc: machine.pc = value
        case GDBTargetDescription.privilege:
            guard let level = PrivilegeLevel(rawValue: UInt8(truncatingIfNeeded: value)), value <= 3 else { return false }
            machine.privilege = level
        default:
            guard let csr = description.csr(forRegister: number) else { return false }
            machine.writeCSR(csr, value)
        }
        return true
    }

    // MARK: Parsing

    private func littleEndianHex(_ value: UInt32) -> String {
        (0..<4).map { k in
            String(RSP.hexDigits(UInt8(truncatingIfNeeded: value >> (8 * UInt32(k)))).map { Character(UnicodeScalar($0)) })
        }.joined()
    }

    private func word(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }

    /// Pairs of hex digits to bytes; nil if odd or not hex.
    private func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = RSP.hexValue(digits[i]), let low = RSP.hexValue(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    /// `addr,length` in hex; the address must fit in 32 bits.
    private func addressAndLength(_ text: String) -> (UInt32, Int)? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = UInt32(parts[0], radix: 16),
              let length = Int(parts[1], radix: 16), length >= 0, length <= 1 << 24 else { return nil }
        return (address, length)
    }

    private func resumeAddress(_ text: String) -> UInt32? {
        text.isEmpty ? nil : UInt32(text, radix: 16)
    }
}
