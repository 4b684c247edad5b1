import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing
@testable import SplitIO
import SplitIOSupport

/// The teaching kernel's own block frontend (kernel-pv.elf, `Sources/VLabCLI/Guests/kernel/blkfront.c`,
/// C built with riscv64-unknown-elf-gcc) running as para-virtual DomUs that `IOHost` gives a raw
/// disk image. At boot the kernel probes for its disk, connects a ring, reads sectors 0-7, writes
/// their complement to sectors 8-15 as a two-segment request, flushes, reads 8-15 back and prints
/// one line. Each run is checked against a host-side copy: the image file (read back from the host
/// file system) and the console line are computed here from the image the test attached, and the
/// rest of the console must be exactly what the same image prints on a bare machine.
@Suite("TeachingKernelBlock")
struct TeachingKernelBlockTests {
    static let kernelFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/VLabCLI/Guests/kernel").standardized
    static let limit: UInt64 = 50_000_000
    static let memorySize: UInt32 = 4 << 20

    static func kernel() throws -> ELFFile {
        try ELFFile(bytes: Array(Data(contentsOf: kernelFolder.appendingPathComponent("kernel-pv.elf"))))
    }

    /// FNV-1a, as blkfront.c checksums what it read.
    static func fnv1a(_ bytes: some Sequence<UInt8>) -> UInt32 {
        bytes.reduce(0x811C_9DC5 as UInt32) { ($0 ^ UInt32($1)) &* 0x0100_0193 }
    }

    /// The host-side copy: what the kernel must leave on a disk that started as `initial`, and the
    /// line it must print.
    static func expected(initial: [UInt8]) -> (image: [UInt8], line: String) {
        var image = initial
        for offset in 0..<4096 { image[4096 + offset] = ~initial[offset] }
        let sectors = initial.count / 512
        let checksum = String(fnv1a(initial[0..<4096]), radix: 16)
        return (image, "kernel: disk: \(sectors) sectors, sectors 0-7 read (FNV-1a 0x\(checksum)), complement written to 8-15, flushed, read back intact\n")
    }

    /// The bare machine's output with `line` after the kernel's third line (where blkfront_init runs).
    static func console(bare: [UInt8], inserting line: String) -> String {
        var lines = String(decoding: bare, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = (lines.firstIndex { $0.hasPrefix("kernel: 4 processes") } ?? lines.count - 1) + 1
        lines.insert(String(line.dropLast()), at: index)
        return lines.joined(separator: "\n")
    }

    struct Run {
        var state: DomainState
        var console: String
        var image: [UInt8]?
    }

    /// Boots one kernel-pv.elf DomU per entry of `disks` under one Dom0 and one `IOHost`; an entry
    /// with initial contents gets a raw image file holding them, nil gets no disk at all.
    func run(disks: [[UInt8]?]) throws -> (runs: [Run], host: IOHost, ids: [Hypervisor.DomainID]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-kernel-block-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var configuration = Dom0.Configuration()
        configuration.machineMemory = disks.count * (Int(Self.memorySize) + configuration.shadowFramesPerDomain * 4096)
        let dom0 = try Dom0(configuration: configuration, output: .silent)
        let host = IOHost(dom0: dom0)
        let image = try Self.kernel()
        var ids: [Hypervisor.DomainID] = []
        var paths: [String?] = []
        for (index, initial) in disks.enumerated() {
            let id = try dom0.create(image: image, memorySize: Self.memorySize, instructionBudget: Self.limit, mode: ParavirtualMode())
            ids.append(id)
            guard let initial else { paths.append(nil); continue }
            let path = directory.appendingPathComponent("dom\(index + 1).img").path
            try Data(initial).write(to: URL(fileURLWithPath: path))
            try host.attachKernelDisk(id, disk: try RawDiskImage(path: path))
            paths.append(path)
        }
        dom0.unpauseAll()
        dom0.run()
        let runs = try zip(ids, paths).map { id, path in
            Run(state: dom0.domain(id)?.state ?? .paused, console: String(decoding: dom0.consoleTranscript(id), as: UTF8.self),
                image: try path.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0))) })
        }
        return (runs, host, ids)
    }

    @Test("kernel-pv.elf's blkfront reads, writes, flushes and reads back its disk through Dom0's backend; the image matches the host-side copy")
    func kernelReadsAndWritesItsDisk() throws {
        let initial = pattern(3, count: 64 * 512)
        let bare = try BareMetal.run(try Self.kernel(), maxInstructions: Self.limit)
        let (runs, host, ids) = try run(disks: [initial])
        let run = try #require(runs.first)
        let expected = Self.expected(initial: initial)

        #expect(run.state == .exited(code: 0), "\(run.state): \(run.console)")
        #expect(run.console == Self.console(bare: bare.console, inserting: expected.line), "\(run.console)")
        let image = try #require(run.image)
        #expect(firstDifference(image, expected.image) == nil, "the image differs from the host-side copy at byte \(firstDifference(image, expected.image) ?? -1)")
        // The four requests went through the one backend, connected over the kernel's own ring.
        let connection = try #require(host.connection(of: ids[0]))
        let statistics = try #require(host.backend.statistics(of: connection))
        #expect(statistics.responsesOkay == 4 && statistics.responsesFailed == 0)
        #expect(host.backend.state(of: connection) == .connected)
        // The data pages' grants ended once the check was done; only the ring page stays granted.
        #expect(host.grants.activeGrants(of: SplitIOSupport.DomainID(1)) == 1)
    }

    @Test("two teaching kernels share one backend, each with its own disk; a third with no disk prints exactly its bare output")
    func kernelsShareTheBackend() throws {
        let first = pattern(5, count: 32 * 512), second = pattern(9, count: 128 * 512)
        let bare = try BareMetal.run(try Self.kernel(), maxInstructions: Self.limit)
        let (runs, host, ids) = try run(disks: [first, second, nil])
        for (run, initial) in zip(runs, [first, second]) {
            let expected = Self.expected(initial: initial)
            #expect(run.state == .exited(code: 0), "\(run.state): \(run.console)")
            #expect(run.console == Self.console(bare: bare.console, inserting: expected.line), "\(run.console)")
            #expect(run.image == expected.image)
        }
        #expect(runs[2].state == .exited(code: 0))
        #expect(runs[2].console == String(decoding: bare.console, as: UTF8.self))
        #expect(host.connection(of: ids[0]) != host.connection(of: ids[1]))
        #expect(host.connection(of: ids[2]) == nil)
    }

    @Test("a disk smaller than the check needs is reported and left untouched; the kernel boots on")
    func tooSmallDisk() throws {
        let initial = pattern(7, count: 8 * 512)
        let bare = try BareMetal.run(try Self.kernel(), maxInstructions: Self.limit)
        let (runs, host, ids) = try run(disks: [initial])
        let run = try #require(runs.first)
        #expect(run.state == .exited(code: 0))
        #expect(run.console == Self.console(bare: bare.console, inserting: "kernel: disk: 8 sectors, too small for the check (16 needed)\n"))
        #expect(run.image == initial)
        #expect(host.connection(of: ids[0]) == nil)
    }

    /// A guest that asks IO_BLK_PROBE and stops (IO_SHUTDOWN) with 0 when the answer is `expected`,
    /// else 1.
    static func probeGuest(expecting expected: Int32) throws -> ELFFile {
        let source = [
            "  li a7, \(IOHypercallABI.blockProbe)", "  ecall", "  mv s0, a0",
            "  li a0, 0", "  li t0, \(expected)", "  beq s0, t0, done", "  li a0, 1",
            "done:", "  li a7, \(IOHypercallABI.shutdown)", "  ecall", "1: j 1b",
        ].joined(separator: "\n") + "\n"
        let program = try Assembler.assemble(source: source, fileName: "probe.S", base: 0x8000_0000)
        return try ELFFile(bytes: program.elfExecutable())
    }

    @Test("IO_BLK_PROBE answers a split-driver disk's size in sectors, and -2 for a domain whose disk is an emulated controller",
          arguments: [(IOPath.split, Int32(24)), (IOPath.emulated, IOHypercallABI.notSupported)])
    func probe(_ path: IOPath, _ expected: Int32) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let disk = try RawDiskImage.create(path: directory.appendingPathComponent("probe.img").path, sectors: 24)
        let dom0 = try Dom0(configuration: Dom0.Configuration(), output: .silent)
        let host = IOHost(dom0: dom0)
        let id = try dom0.create(image: try Self.probeGuest(expecting: expected), memorySize: 1 << 20, instructionBudget: 100_000)
        try host.attach(id, path: path, disk: disk, workload: IOWorkload(pattern: .sequential, operation: .read, batch: 1, requests: 1, diskPages: 3))
        dom0.unpauseAll()
        dom0.run()
        #expect(dom0.domain(id)?.state == .exited(code: 0), "\(path): the probe did not answer \(expected)")
    }
}
