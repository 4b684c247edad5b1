import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing
@testable import SplitIO

/// The I/O guest (Sources/VLabCLI/Guests/io, C built with riscv64-unknown-elf-gcc) running as real
/// DomUs under the VMM, reaching its disk through each of the three paths. Every run is checked
/// against a host-side copy: `IOWorkload.expectedResult` replays the same requests on the initial
/// image in Swift, and the image file (read by the host file system) and the guest's checksum of
/// what it read must both match it.
@Suite("DomainIO")
struct DomainIOTests {
    static let guestFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/VLabCLI/Guests/io").standardized

    static func guestImage() throws -> ELFFile {
        try ELFFile(bytes: Array(Data(contentsOf: guestFolder.appendingPathComponent("io-guest.elf"))))
    }

    /// A scratch folder with one raw image per domain, each starting with different contents.
    final class Disks {
        let directory: URL
        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-domain-io-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: directory) }

        func make(_ count: Int, pages: UInt32) throws -> [(disk: RawDiskImage, initial: [UInt8])] {
            try (0..<count).map { index in
                let path = directory.appendingPathComponent("dom\(index + 1).img").path
                let initial = pattern(UInt8(index + 1), count: Int(pages) * pageSize)
                try Data(initial).write(to: URL(fileURLWithPath: path))
                return (try RawDiskImage(path: path), initial)
            }
        }

        func bytes(_ disk: RawDiskImage) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: disk.path))) }
    }

    /// Runs `workload` on `path` in `domains` DomUs and checks every domain against its host-side copy.
    /// Returns the final image of each domain and the host.
    @discardableResult
    func runAndCheck(_ path: IOPath, _ workload: IOWorkload, domains: Int = 1) throws -> (images: [[UInt8]], host: IOHost) {
        let scratch = try Disks()
        let disks = try scratch.make(domains, pages: workload.diskPages)
        let experiment = IOExperiment(image: try Self.guestImage(), path: path, workload: workload)
        let (results, host) = try experiment.run(disks: disks.map(\.disk))
        var images: [[UInt8]] = []
        for (result, (disk, initial)) in zip(results, disks) {
            #expect(result.state == .exited(code: 0), "\(path) \(result.name): \(result.state); console: \(result.console)")
            let expected = workload.expectedResult(initial: initial)
            let image = try scratch.bytes(disk)
            #expect(firstDifference(image, expected.image) == nil, "\(path) \(result.name): the image differs from the host-side copy at byte \(firstDifference(image, expected.image) ?? -1)")
            #expect(result.measurement?.checksum == expected.checksum, "\(path) \(result.name): the guest read different data (checksum)")
            #expect(result.console.contains("0 errors"), "\(result.console)")
            images.append(image)
        }
        return (images, host)
    }

    @Test("two DomUs share Dom0's one block backend through their own rings, grants and event channels")
    func splitDriverTwoDomains() throws {
        let workload = IOWorkload(pattern: .random, operation: .verify, batch: 8, requests: 40, diskPages: 32)
        let (_, host) = try runAndCheck(.split, workload, domains: 2)
        // Both frontends connected to the one backend and were served by it.
        for number in 1...2 {
            let connection = try #require(host.connection(of: Hypervisor.DomainID(number)))
            let statistics = try #require(host.backend.statistics(of: connection))
            #expect(statistics.responsesOkay == Int(workload.totalRequests))
            #expect(statistics.responsesFailed == 0)
            #expect(host.backend.state(of: connection) == .connected)
        }
    }

    @Test("the split driver notifies once per batch, not once per request, and its upcalls arrive as virtual interrupts")
    func splitDriverBatchesNotifications() throws {
        let workload = IOWorkload(pattern: .sequential, operation: .write, batch: 16, requests: 64, diskPages: 64)
        let scratch = try Disks()
        let disks = try scratch.make(1, pages: workload.diskPages)
        let (results, _) = try IOExperiment(image: try Self.guestImage(), path: .split, workload: workload).run(disks: disks.map(\.disk))
        let measurement = try #require(results[0].measurement)
        // 4 batches: one kick each, at most one upcall each.
        #expect(measurement.notifications <= 8)
        #expect(measurement.notifications >= 4)
        #expect((measurement.exits[.interrupt] ?? 0) >= 1, "the response upcall is a virtual interrupt")
        #expect(measurement.exits[.mmio] == nil, "no device register is touched on the split path")
    }

    @Test("the emulated controller traps every register access: five MMIO exits per request")
    func emulatedControllerExits() throws {
        let workload = IOWorkload(pattern: .random, operation: .verify, batch: 4, requests: 24, diskPages: 16)
        let (_, host) = try runAndCheck(.emulated, workload)
        let controller = try #require(host.controller(of: Hypervisor.DomainID(1)))
        #expect(controller.commands == Int(workload.totalRequests))
        let measurement = try #require(host.measurement(of: Hypervisor.DomainID(1)))
        #expect(measurement.exits[.mmio] == UInt64(5 * workload.totalRequests))
    }

    @Test("the pass-through device moves the data by DMA through the IOMMU, with no exit per request")
    func passthroughThroughIOMMU() throws {
        let workload = IOWorkload(pattern: .random, operation: .verify, batch: 8, requests: 40, diskPages: 32)
        let (_, host) = try runAndCheck(.passthrough, workload, domains: 2)
        #expect(host.iommu.faults.isEmpty)
        let measurement = try #require(host.measurement(of: Hypervisor.DomainID(1)))
        #expect(measurement.exits[.mmio] == nil)
        #expect(measurement.totalExits < UInt64(workload.totalRequests), "exits are per batch, not per request")
        #expect(host.device(of: Hypervisor.DomainID(2))?.requestsDone == Int(workload.totalRequests))
    }

    @Test("the same workload leaves identical images through all three paths")
    func identicalImagesAcrossPaths() throws {
        let workload = IOWorkload(pattern: .random, operation: .verify, batch: 5, requests: 30, diskPages: 24)
        let images = try IOPath.allCases.map { try runAndCheck($0, workload).images[0] }
        #expect(images[0] == images[1])
        #expect(images[0] == images[2])
    }

    @Test("three DomUs, one on each path, run side by side on one hart under one Dom0")
    func allPathsSideBySide() throws {
        let workload = IOWorkload(pattern: .random, operation: .verify, batch: 6, requests: 30, diskPages: 20)
        let scratch = try Disks()
        let disks = try scratch.make(3, pages: workload.diskPages)
        let experiment = IOExperiment(image: try Self.guestImage(), path: .split, workload: workload)
        let (results, host) = try experiment.run(domains: zip(IOPath.allCases, disks).map { ($0, $1.disk) })
        for (result, (disk, initial)) in zip(results, disks) {
            #expect(result.state == .exited(code: 0), "\(result.name): \(result.state); console: \(result.console)")
            let expected = workload.expectedResult(initial: initial)
            #expect(try scratch.bytes(disk) == expected.image, "\(result.name)")
            #expect(result.measurement?.checksum == expected.checksum, "\(result.name)")
        }
        #expect(results.map { $0.measurement?.path } == IOPath.allCases.map { Optional($0) })
        #expect(host.iommu.faults.isEmpty)
    }

    @Test("the committed io-guest.elf is what build.sh builds from the sources",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/riscv64-unknown-elf-gcc"),
                   "needs riscv64-unknown-elf-gcc (Debian gcc-riscv64-unknown-elf)"))
    func reproducibleGuest() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-io-guest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [Self.guestFolder.appendingPathComponent("build.sh").path, output.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let fresh = try Data(contentsOf: output.appendingPathComponent("io-guest.elf"))
        let committed = try Data(contentsOf: Self.guestFolder.appendingPathComponent("io-guest.elf"))
        #expect(fresh == committed, "io-guest.elf is stale: run Sources/VLabCLI/Guests/io/build.sh and commit the image")
    }
}
