import Foundation
import RISCV
import Testing
@testable import Machine

/// The GDB server driven by an in-process client over a real loopback socket, the way gdb drives it.
@Suite("GDB server over loopback", .serialized)
struct GDBServerTests {
    /// Calls `work` three times (s0 += 10 each), then spins until the word at `flag` is non-zero,
    /// then exits through the test finisher with s0 as the code.
    static let source = """
        .text
        .globl _start
        _start:
            li s0, 0
            li s1, 3
        again:
            call work
            addi s1, s1, -1
            bnez s1, again
        spin:
            la t1, flag
            lw t0, 0(t1)
            beqz t0, spin
            li t0, 0x100000
            slli t1, s0, 16
            li t2, 0x3333
            or t1, t1, t2
            sw t1, 0(t0)
        1:  j 1b
        work:
            addi s0, s0, 10
            ret
            .data
        flag: .word 0
        """

    static func program() throws -> AssembledProgram {
        try Assembler.assemble(source: source, fileName: "loop.s", base: 0x8000_0000)
    }

    /// A server on its own thread, serving one session on a machine running `program`; after the
    /// session it runs the guest to its end, as `vlab boot --gdb` does.
    final class ServerThread: @unchecked Sendable {
        // The lock guards the results the test thread reads after `finished` is signalled.
        private let lock = NSLock()
        private let ready = DispatchSemaphore(value: 0)
        private let finished = DispatchSemaphore(value: 0)
        private var boundPort: UInt16 = 0
        private var sessionEnd: GDBSessionEnd?
        private var guestEnd: DebugTargetEnd?
        private var failure: String?

        init(elf: [UInt8]) {
            let thread = Thread { [self] in
                do {
                    var configuration = MachineConfiguration()
                    configuration.ramSize = 1 << 20
                    let machine = try Machine(configuration: configuration)
                    machine.console = .silent
                    try machine.load(try ELFFile(bytes: elf))
                    let listener = try GDBListener(port: 0)
                    lock.withLock { boundPort = listener.port }
                    ready.signal()
                    let target = BareMetalTarget(machine: machine)
                    let server = GDBServer(target: target, connection: try listener.accept())
                    server.chunkInstructions = 10_000
                    let end = server.serve()
                    var after: DebugTargetEnd? = nil
                    if case .targetEnded(let e) = end { after = e } else if end != .killed {
                        after = target.resume(maxInstructions: 10_000_000)
                    }
                    lock.withLock {
                        sessionEnd = end
                        guestEnd = after
                    }
                } catch {
                    lock.withLock { failure = "\(error)" }
                    ready.signal()
                }
                finished.signal()
            }
            thread.start()
            ready.wait()
        }

        var port: UInt16 { lock.withLock { boundPort } }

        func wait() -> (GDBSessionEnd?, DebugTargetEnd?, String?) {
            _ = finished.wait(timeout: .now() + 30)
            return lock.withLock { (sessionEnd, guestEnd, failure) }
        }
    }

    /// A minimal gdb: sends packets, checks the acks, returns reply payloads.
    final class Client {
        let connection: GDBConnection
        var decoder = RSPDecoder()
        var events: [RSPEvent] = []

        init(port: UInt16) throws {
            connection = try GDBConnection.connect(port: port)
        }

        func nextEvent() throws -> RSPEvent {
            while events.isEmpty {
                guard let bytes = try connection.receive(timeoutMilliseconds: 10_000) else {
                    throw GDBError("the server closed the connection")
                }
                if bytes.isEmpty { throw GDBError("no reply within 10 s") }
                events += decoder.feed(bytes)
            }
            return events.removeFirst()
        }

        /// Sends a packet; expects `+`, then a reply packet (acknowledged), and returns its payload.
        func request(_ payload: String) throws -> String {
            try connection.send(RSP.frame(payload))
            let ack = try nextEvent()
            guard ack == .acknowledged else { throw GDBError("expected + for \(payload), got \(ack)") }
            return try reply()
        }

        func reply() throws -> String {
            let event = try nextEvent()
            guard case .packet(let bytes) = event else { throw GDBError("expected a reply packet, got \(event)") }
            try connection.send([UInt8(ascii: "+")])
            return String(decoding: RSP.expandRunLengths(bytes) ?? bytes, as: UTF8.self)
        }
    }

    static func littleEndian(_ hex: Substring) -> UInt32 {
        guard hex.count == 8 else {
            Issue.record("expected 8 hex digits, got \(hex)")
            return 0
        }
        let bytes = stride(from: 0, to: 8, by: 2).map { i -> UInt32 in
            let start = hex.index(hex.startIndex, offsetBy: i)
            return UInt32(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
        }
        return bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24
    }

    static func register(_ n: Int, in g: String) -> UInt32 {
        let start = g.index(g.startIndex, offsetBy: 8 * n)
        return littleEndian(g[start..<g.index(start, offsetBy: 8)])
    }

    static func hex(_ value: UInt32) -> String { String(value, radix: 16) }

    @Test("break, continue, step, registers, memory, Ctrl-C and detach; the guest then finishes")
    func session() throws {
        let program = try Self.program()
        let work = try #require(program.symbol(named: "work")).value
        let flag = try #require(program.symbol(named: "flag")).value
        let server = ServerThread(elf: program.elfExecutable())
        let client = try Client(port: server.port)

        #expect(try client.request("qSupported:multiprocess+;swbreak+;hwbreak+").contains("qXfer:features:read+"))
        let xml = try client.request("qXfer:features:read:target.xml:0,3fff")
        #expect(xml.hasPrefix("l<?xml"))
        #expect(xml.contains("org.gnu.gdb.riscv.cpu") && xml.contains("<reg name=\"sp\"") && xml.contains("name=\"mstatus\""))
        #expect(try client.request("?") == "S05")
        #expect(try client.request("qAttached") == "1")

        // The original word under a breakpoint is what `m` shows.
        let original = try client.request("m\(Self.hex(work)),4")
        #expect(try client.request("Z0,\(Self.hex(work)),4") == "OK")
        #expect(try client.request("m\(Self.hex(work)),4") == original)

        #expect(try client.request("vCont;c") == "T05thread:1;swbreak:;")
        var g = try client.request("g")
        #expect(Self.register(32, in: g) == work)
        #expect(Self.register(8, in: g) == 0)  // s0
        #expect(try client.request("c") == "T05thread:1;swbreak:;")
        g = try client.request("g")
        #expect(Self.register(8, in: g) == 10)

        // A step runs the instruction under the breakpoint.
        #expect(try client.request("vCont;s:1") == "T05thread:1;")
        #expect(Self.littleEndian(try client.request("p20")[...]) == work + 4)
        #expect(Self.littleEndian(try client.request("p8")[...]) == 20)
        #expect(Self.littleEndian(try client.request("p1041")[...]) == 3)  // priv: M-mode
        #expect(Self.littleEndian(try client.request("p\(Self.hex(65 + 0x301))")[...]) == Machine.misa)

        // Without the breakpoint the guest spins until interrupted.
        #expect(try client.request("z0,\(Self.hex(work)),4") == "OK")
        try client.connection.send(RSP.frame("c"))
        #expect(try client.nextEvent() == .acknowledged)
        usleep(50_000)
        try client.connection.send([0x03])
        #expect(try client.reply() == "T02thread:1;")

        // Writes: s0 = 100 and the flag, then detach; the guest exits with s0.
        #expect(try client.request("m\(Self.hex(flag)),4") == "00000000")
        #expect(try client.request("P8=64000000") == "OK")
        #expect(try client.request("M\(Self.hex(flag)),4:01000000") == "OK")
        #expect(try client.request("m\(Self.hex(flag)),4") == "01000000")
        #expect(try client.request("D") == "OK")
        let (end, guest, failure) = server.wait()
        #expect(failure == nil)
        #expect(end == .detached)
        #expect(guest == .exited(code: 100))
    }

    @Test("a bad checksum gets a NAK and the packet again gets its answer; unmapped memory is an error")
    func badChecksumAndErrors() throws {
        let server = ServerThread(elf: try Self.program().elfExecutable())
        let client = try Client(port: server.port)
        try client.connection.send(Array("$g#00".utf8))
        #expect(try client.nextEvent() == .retransmitRequested)
        #expect(try client.request("g").count == 33 * 8)
        #expect(try client.request("m10,4") == "E0e")       // nothing at 0x10
        #expect(try client.request("Z0,10,4") == "E0e")
        #expect(try client.request("Gzz") == "E16")
        #expect(try client.request("vMustReplyEmpty") == "")
        // Oversized: discarded, answered with an error, the session goes on.
        try client.connection.send([UInt8(ascii: "$")] + [UInt8](repeating: 0x61, count: RSP.maximumPayload + 1) + Array("#00".utf8))
        #expect(try client.nextEvent() == .acknowledged)
        #expect(try client.reply() == "E01")
        #expect(try client.request("QStartNoAckMode") == "OK")
        try client.connection.send(RSP.frame("?"))
        #expect(try client.reply() == "S05")
        try client.connection.send(RSP.frame("k"))
        let (end, _, failure) = server.wait()
        #expect(failure == nil)
        #expect(end == .killed)
    }

    @Test("a client that disconnects mid-packet ends the session; the guest runs on to its end untouched")
    func disconnectMidPacket() throws {
        let program = try Self.program()
        let server = ServerThread(elf: program.elfExecutable())
        do {
            let client = try Client(port: server.port)
            #expect(try client.request("Z0,\(Self.hex(try #require(program.symbol(named: "work")).value)),4") == "OK")
            try client.connection.send(Array("$M80000000,4:deadbe".utf8))
            client.connection.close()
        }
        let (end, guest, failure) = server.wait()
        #expect(failure == nil)
        if case .disconnected(let message) = end {
            #expect(message.contains("middle of a packet"))
        } else {
            Issue.record("expected a disconnect, got \(String(describing: end))")
        }
        // The breakpoint was removed and the half-sent write never happened: the guest runs its
        // three calls and then spins on the flag nobody sets, until the instruction budget.
        #expect(guest == nil)
    }
}
