import Foundation
import Testing

/// `vlab run --gdb PORT` against the real gdb-multiarch, and the options' bad input.
@Suite("vlab --gdb with gdb-multiarch", .serialized,
       .enabled(if: Checkout.vlabExecutable != nil, "the vlab executable was not built beside the tests"))
struct GDBCommandLineTests {
    let vlab = Checkout.vlabExecutable ?? "vlab"
    static let gdb = Peers.find("gdb-multiarch")
    static let debuggee = Checkout.guests.appendingPathComponent("linux/debuggee.elf").path

    /// A port nobody listens on now (the kernel's pick, released again).
    static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }

    @Test("gdb breaks at a function, continues, shows registers and locals, steps, detaches; the guest finishes normally",
          .enabled(if: gdb != nil, "gdb-multiarch is not installed"))
    func realGDB() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = Self.freePort()
        let outURL = directory.appendingPathComponent("out"), errURL = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let guest = Process()
        guest.executableURL = URL(fileURLWithPath: vlab)
        guest.arguments = ["run", "--gdb", String(port), Self.debuggee]
        guest.standardOutput = try FileHandle(forWritingTo: outURL)
        guest.standardError = try FileHandle(forWritingTo: errURL)
        try guest.run()
        defer { if guest.isRunning { guest.terminate() } }
        // Wait for the "waiting for gdb" line, so gdb finds the port open.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !(String(data: (try? Data(contentsOf: errURL)) ?? Data(), encoding: .utf8) ?? "").contains("waiting for gdb") {
            usleep(20_000)
        }
        let script = """
            set pagination off
            set confirm off
            directory \(Checkout.guests.appendingPathComponent("linux").path)
            target remote 127.0.0.1:\(port)
            break square
            continue
            info registers
            print value
            next
            print result
            step
            step
            bt 2
            print $priv
            print/x $satp
            detach
            """
        let scriptURL = directory.appendingPathComponent("gdb.cmd")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let session = try Peers.run(Self.gdb!, ["-nx", "-batch", "-ex", "file \(Self.debuggee)", "-x", scriptURL.path], timeout: 120)
        let end = Date().addingTimeInterval(30)
        while guest.isRunning && Date() < end { usleep(20_000) }
        let output = session.text
        #expect(output.contains("Breakpoint 1, square (value=1) at ./debuggee.c:9"), "\(output)\n\(session.errorText)")
        // info registers: ABI names and the pc inside square.
        #expect(output.range(of: #"\nra\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <sum_of_squares\+\d+>"#, options: .regularExpression) != nil, "\(output)")
        #expect(output.range(of: #"\nsp\s+0x[0-9a-f]+"#, options: .regularExpression) != nil)
        #expect(output.range(of: #"\npc\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <square\+\d+>"#, options: .regularExpression) != nil)
        #expect(output.contains("$1 = 1"))               // value
        #expect(output.contains("10\t    calls++;"))      // next went to the next line
        #expect(output.contains("$2 = 1"))               // result = 1 * 1
        #expect(output.contains("#1  0x") && output.contains("in sum_of_squares (count=4)"))
        #expect(output.contains("$3 = 0"))               // U-mode
        #expect(output.range(of: #"\$4 = 0x8[0-9a-f]{7}"#, options: .regularExpression) != nil)  // Sv32 on
        #expect(output.contains("[Inferior 1 (Remote target) detached]"))
        #expect(!guest.isRunning)
        #expect(guest.terminationStatus == 30)
        #expect(String(decoding: try Data(contentsOf: outURL), as: UTF8.self) == "sum of squares 1..4 = 30 in 4 calls\n")
    }

    @Test("a port already in use is one clear line and a non-zero exit")
    func portInUse() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        #expect(listen(fd, 1) == 0)
        let port = UInt16(bigEndian: address.sin_port)
        let result = try Peers.run(vlab, ["run", "--gdb", String(port), Self.debuggee], timeout: 60)
        #expect(result.status != 0)
        let lines = result.errorText.split(separator: "\n")
        #expect(lines.count == 1, "\(result.errorText)")
        #expect(result.errorText.contains("--gdb \(port)") && result.errorText.contains("already in use"), "\(result.errorText)")
    }

    @Test("trace options: a bad range and a range without a trace are usage errors")
    func traceOptionErrors() throws {
        let backwards = try Peers.run(vlab, ["boot", "--trace", "--trace-range", "0x2000:0x1000"], timeout: 60)
        #expect(backwards.status != 0 && backwards.errorText.contains("--trace-range 0x2000:0x1000"), "\(backwards.errorText)")
        let alone = try Peers.run(vlab, ["boot", "--trace-range", "0x0:0x10"], timeout: 60)
        #expect(alone.status != 0 && alone.errorText.contains("need --trace"), "\(alone.errorText)")
    }

    @Test("vlab run --trace-traps --trace-file writes one line per system call trap and the guest's output is unchanged")
    func traceFile() throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("trace.txt")
        let result = try Peers.run(vlab, ["run", "--trace", "--trace-traps", "--trace-file", file.path, Self.debuggee], timeout: 120)
        #expect(result.status == 30)
        #expect(result.text == "sum of squares 1..4 = 30 in 4 calls\n")
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        // Three put_string and two put_decimal calls write once each, then exit_group: 6 system calls.
        #expect(lines.filter { $0.hasPrefix("trap: environment call from U-mode") }.count == 6)
        #expect(lines.contains { $0.contains("ecall") && $0.contains("a0=0x") })
        #expect(lines.first?.hasPrefix("00010") == true, "\(lines.first ?? "")")
    }
}
