import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing
@testable import SplitIO

/// The network guest (Sources/VLabCLI/Guests/net, C built with riscv64-unknown-elf-gcc) as real
/// DomUs under the VMM: netfront in each guest, netback and the bridge in Dom0. The guests check
/// every frame themselves (IPv4 and ICMP checksums, stream order and bytes) and print what they
/// saw; the tests hold them to the exact bytes and to checksums computed here on the host.
@Suite("NetDomain")
struct NetDomainTests {
    static let guestFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/VLabCLI/Guests/net").standardized

    static func guestImage() throws -> ELFFile {
        try ELFFile(bytes: Array(Data(contentsOf: guestFolder.appendingPathComponent("net-guest.elf"))))
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    @Test("ping: ARP through the flooding bridge, then 16 ICMP echo round trips between two DomUs",
          arguments: ExecutionEngineKind.allCases)
    func ping(engine: ExecutionEngineKind) throws {
        let workload = NetWorkload.ping(16, payload: 56)
        var experiment = NetExperiment(image: try Self.guestImage(), workload: workload)
        experiment.engine = engine
        let (results, host) = try experiment.run()
        let checksum = Self.hex(workload.expectedChecksum)
        #expect(results[0].state == .exited(code: 0), "\(results[0].state): \(results[0].console)")
        #expect(results[1].state == .exited(code: 0), "\(results[1].state): \(results[1].console)")
        #expect(results[0].console == "net: ping 10.0.0.2: 16 sent, 16 received, 0 bad frames, checksum \(checksum)\n")
        #expect(results[1].console == "net: answered 16 echo requests, 0 bad frames, checksum \(checksum)\n")
        #expect(results[0].checksum == workload.expectedChecksum)
        let measurement = try #require(host.measurement)
        #expect(measurement.frames == 32, "16 requests and 16 replies between the client's marks")
        #expect(measurement.dropped == 0)
        // No device register is touched by the frames: the only MMIO exits in the client's interval
        // are the responder's console line (the UART), printed before the client's end mark.
        #expect(measurement.exits[.mmio] == UInt64(results[1].console.utf8.count))
        // Both ARP requests were broadcasts, flooded: the client's (sent before the responder had
        // connected, so it reached nobody) and the responder's. The client's ARP reply and the 32
        // ICMP frames went to the one port the bridge had learned.
        #expect(host.backend.bridge.statistics.flooded == 2)
        #expect(host.backend.bridge.statistics.forwarded == 33)
        for id in [Hypervisor.DomainID(1), Hypervisor.DomainID(2)] {
            let vif = try #require(host.vif(of: id))
            #expect(host.backend.state(of: vif) == .connected)
            #expect(host.backend.statistics(of: vif)?.transmitErrors == 0)
            #expect(host.blocks(of: id) > 0, "each side waited for the other")
            // Block ends the slice on the hypercall: no instruction is spent spinning after it.
            #expect(host.idleInstructions(of: id) == 0)
        }
        #expect(measurement.idleInstructions == 0)
        #expect(host.dom0.idleInstructions == 0, "one domain was always ready while the other waited")
    }

    @Test("both engines run the same exchange instruction for instruction: same counts, exits and notifications")
    func enginesAgree() throws {
        let measurements = try ExecutionEngineKind.allCases.map { engine in
            var experiment = NetExperiment(image: try Self.guestImage(), workload: .bulk(64 << 10, window: 16))
            experiment.engine = engine
            return try #require(try experiment.run().host.measurement)
        }
        #expect(measurements[0].guestInstructions == measurements[1].guestInstructions)
        #expect(measurements[0].idleInstructions == measurements[1].idleInstructions)
        #expect(measurements[0].exits == measurements[1].exits)
        #expect(measurements[0].notifications == measurements[1].notifications)
        #expect(measurements[0].frames == measurements[1].frames)
    }

    @Test("bulk: 1 MiB in 1492-byte frames arrives in order with the host's checksum, nothing dropped")
    func bulkTransfer() throws {
        let workload = NetWorkload.bulk(1 << 20)
        let (results, host) = try NetExperiment(image: try Self.guestImage(), workload: workload).run()
        let checksum = Self.hex(NetWorkload.streamChecksum(bytes: 1 << 20))
        #expect(workload.dataFrames == 703)
        #expect(results[0].state == .exited(code: 0), "\(results[0].state): \(results[0].console)")
        #expect(results[1].state == .exited(code: 0), "\(results[1].state): \(results[1].console)")
        #expect(results[0].console == "net: sent 1048576 bytes in 703 frames, 0 TX errors, checksum \(checksum)\n")
        #expect(results[1].console == "net: received 1048576 bytes in 703 frames, 0 out of order, 0 bad frames, checksum \(checksum)\n")
        #expect(results[1].checksum == NetWorkload.streamChecksum(bytes: 1 << 20))
        let measurement = try #require(host.measurement)
        #expect(measurement.dropped == 0)
        // 703 data frames plus an acknowledgement every 16 frames and one at the end.
        #expect(measurement.frames == 703 + 43 + 1)
        #expect(measurement.notifications < UInt64(measurement.frames), "notifications are per batch, not per frame")
    }

    @Test("a peer that never posts RX buffers loses its own frames, counted; the other two keep talking")
    func deafPeer() throws {
        let workload = NetWorkload.ping(8, payload: 100)
        let (results, host) = try NetExperiment(image: try Self.guestImage(), workload: workload).run(before: [.deaf])
        #expect(results[1].state == .exited(code: 0), "\(results[1].state): \(results[1].console)")
        #expect(results[2].state == .exited(code: 0), "\(results[2].state): \(results[2].console)")
        #expect(results[1].console.hasPrefix("net: ping 10.0.0.3: 8 sent, 8 received, 0 bad frames"))
        // The deaf domain is still there, blocked: nothing it could be woken by ever came.
        #expect(results[0].state == .runnable)
        #expect(host.dom0.domain(Hypervisor.DomainID(1))?.vm.isBlocked == true)
        #expect(results[0].console == "net: deaf: connected, posting no RX buffers\n")
        let deaf = try #require(host.vif(of: Hypervisor.DomainID(1)))
        // Both ARP requests were flooded to it (it had connected first) and dropped there.
        #expect(host.backend.statistics(of: deaf)?.receiveDropped == 2)
        #expect(host.backend.statistics(of: deaf)?.framesReceived == 0)
        #expect(host.backend.state(of: deaf) == .connected)
    }

    @Test("a hostile DomU (event storm, frame past its page) is disconnected; two others ping through the same bridge")
    func hostileDomain() throws {
        let workload = NetWorkload.ping(8)
        let (results, host) = try NetExperiment(image: try Self.guestImage(), workload: workload).run(before: [.hostile])
        // Its vif is gone, so its port is no longer connected to Dom0: the send after the bad
        // request fails with invalid-parameter (-3).
        #expect(results[0].console == "net: hostile: 1000 events and a frame past its page; sending now returns 3 (negative)\n")
        #expect(results[0].state == .exited(code: 0))
        let vif = try #require(host.vif(of: Hypervisor.DomainID(1)))
        guard case .disconnected(let reason) = host.backend.state(of: vif) else {
            Issue.record("the hostile vif is still connected")
            return
        }
        #expect(reason == "dom1: TX request 0: 200 bytes at offset 4000 run past the 4096-byte page")
        #expect(host.backend.statistics(of: vif)?.framesSent == 0)
        #expect(results[1].state == .exited(code: 0), "\(results[1].console)")
        #expect(results[2].state == .exited(code: 0), "\(results[2].console)")
        #expect(results[1].console == "net: ping 10.0.0.3: 8 sent, 8 received, 0 bad frames, checksum \(Self.hex(workload.expectedChecksum))\n")
        #expect(host.backend.connectedVifs.count == 2)
    }

    @Test("the committed net-guest.elf is what build.sh builds from the sources",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/riscv64-unknown-elf-gcc"),
                   "needs riscv64-unknown-elf-gcc (Debian gcc-riscv64-unknown-elf)"))
    func reproducibleGuest() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-net-guest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [Self.guestFolder.appendingPathComponent("build.sh").path, output.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let fresh = try Data(contentsOf: output.appendingPathComponent("net-guest.elf"))
        let committed = try Data(contentsOf: Self.guestFolder.appendingPathComponent("net-guest.elf"))
        #expect(fresh == committed, "net-guest.elf is stale: run Sources/VLabCLI/Guests/net/build.sh and commit the image")
    }
}
