import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing
@testable import SplitIO
#if canImport(Glibc)
import Glibc
#endif

/// The real peer for the guest's network stack: the Linux kernel. Dom0's bridge gets an uplink, a
/// TAP device whose far end lives in a fresh network namespace with address 10.0.0.2 (as a Xen
/// host enslaves a physical NIC or a TAP device to the guests' bridge). The guest's ping client
/// must resolve Linux's address with ARP and get every ICMP echo answered by Linux's own stack,
/// which checks the guest's IPv4 and ICMP checksums before it answers.
@Suite("NetUplink")
struct NetUplinkTests {
    /// Root, a TUN/TAP device and iproute2, and a kernel (or container) that lets us make a network
    /// namespace: probed once by making and deleting one.
    static let available: Bool = {
        guard getuid() == 0, FileManager.default.isReadableFile(atPath: "/dev/net/tun"),
              FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") else { return false }
        let probe = "vlab-net-probe-\(getpid())"
        guard (try? TapInNamespace.ip(["netns", "add", probe])) != nil else { return false }
        _ = try? TapInNamespace.ip(["netns", "del", probe])
        return true
    }()

    /// A TAP device opened here, its interface moved into a new network namespace and configured.
    final class TapInNamespace {
        let namespace: String
        let interface: String
        let descriptor: Int32

        init(address: String) throws {
            let tag = UUID().uuidString.prefix(6).lowercased()
            namespace = "vlab-net-\(tag)"
            interface = "vlabtap\(tag)"
            descriptor = open("/dev/net/tun", O_RDWR | O_NONBLOCK)
            guard descriptor >= 0 else { throw TapError("cannot open /dev/net/tun: errno \(errno)") }
            // struct ifreq: the name (16 bytes), then the flags: IFF_TAP | IFF_NO_PI.
            var request = [UInt8](repeating: 0, count: 40)
            for (index, byte) in interface.utf8.enumerated() { request[index] = byte }
            request[16] = 0x02
            request[17] = 0x10
            let tunSetInterface: UInt = 0x4004_54CA
            guard request.withUnsafeMutableBytes({ ioctl(descriptor, tunSetInterface, $0.baseAddress!) }) == 0 else {
                close(descriptor)
                throw TapError("TUNSETIFF \(interface): errno \(errno)")
            }
            try Self.ip(["netns", "add", namespace])
            try Self.ip(["link", "set", interface, "netns", namespace])
            try Self.ip(["netns", "exec", namespace, "/bin/sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/\(interface)/disable_ipv6"])
            try Self.ip(["netns", "exec", namespace, "ip", "addr", "add", "\(address)/24", "dev", interface])
            try Self.ip(["netns", "exec", namespace, "ip", "link", "set", interface, "up"])
        }

        deinit {
            close(descriptor)
            _ = try? Self.ip(["netns", "del", namespace])
        }

        @discardableResult
        static func ip(_ arguments: [String]) throws -> String {
            let process = Process()
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = arguments
            process.standardOutput = output
            try process.run()
            let bytes = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw TapError("ip \(arguments.joined(separator: " ")) failed") }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// Runs a command inside the namespace and returns what it printed.
        func inside(_ command: String...) throws -> String {
            try Self.ip(["netns", "exec", namespace] + command)
        }

        /// The interface's MAC address as Linux chose it.
        func linuxAddress() throws -> MACAddress {
            let text = try inside("cat", "/sys/class/net/\(interface)/address").trimmingCharacters(in: .whitespacesAndNewlines)
            return MACAddress(text.split(separator: ":").compactMap { UInt8($0, radix: 16) })
        }

        /// Linux's ICMP counters in the namespace (/proc/net/snmp's "Icmp:" lines), by name.
        func icmpCounters() throws -> [String: Int] {
            let lines = try inside("cat", "/proc/net/snmp").split(separator: "\n").filter { $0.hasPrefix("Icmp:") }
            guard lines.count >= 2 else { return [:] }
            let names = lines[0].split(separator: " ").dropFirst(), values = lines[1].split(separator: " ").dropFirst()
            return Dictionary(zip(names.map(String.init), values.map { Int($0) ?? -1 }), uniquingKeysWith: { a, _ in a })
        }

        func write(_ frame: [UInt8]) {
            _ = frame.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        }

        /// The next frame Linux sent, or nil if none is waiting.
        func read() -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: 2048)
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            return count > 0 ? Array(buffer.prefix(count)) : nil
        }
    }

    struct TapError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test("the guest pings the Linux kernel through Dom0's bridge and a TAP uplink",
          .enabled(if: available, "needs root, /dev/net/tun, iproute2's ip and permission to create a network namespace"))
    func pingLinux() throws {
        let tap = try TapInNamespace(address: "10.0.0.2")
        var configuration = Dom0.Configuration()
        configuration.machineMemory = 16 << 20
        configuration.shadowFramesPerDomain = 64
        let dom0 = try Dom0(configuration: configuration, output: ConsoleIO(write: { _ in }))
        let host = NetHost(dom0: dom0)
        let id = try dom0.create(image: try NetDomainTests.guestImage(), memorySize: 1 << 20, instructionBudget: 2_000_000_000,
                                 mode: TrapAndEmulateMode())
        let workload = NetWorkload.ping(5, payload: 56)
        try host.attach(id, registers: workload.bootRegisters(role: .pingClient, own: 1, peer: 2), measuring: true)
        let uplink = host.backend.attachUplink { tap.write($0) }
        host.pollUplinks = { [unowned host] in
            var arrived = false
            while let frame = tap.read() {
                arrived = host.backend.receive(fromUplink: uplink, frame) || arrived
            }
            return arrived
        }
        dom0.unpauseAll()
        host.run()
        let console = String(decoding: dom0.consoleTranscript(id), as: UTF8.self)
        #expect(dom0.domain(id)?.state == .exited(code: 0), "\(console)")
        #expect(console == "net: ping 10.0.0.2: 5 sent, 5 received, 0 bad frames, checksum \(NetDomainTests.hex(workload.expectedChecksum))\n")
        // Linux's MAC address was learned on the uplink, from its ARP reply; Linux's own counters
        // show five echo requests that passed its checksum checks, and five replies.
        #expect(host.backend.bridge.port(of: try tap.linuxAddress()) == uplink)
        let icmp = try tap.icmpCounters()
        #expect(icmp["InEchos"] == 5)
        #expect(icmp["OutEchoReps"] == 5)
        #expect(icmp["InCsumErrors"] == 0)
        #expect(host.measurement?.frames == 5, "the guest's 5 requests went through its TX ring; the replies came from the uplink")
    }
}
