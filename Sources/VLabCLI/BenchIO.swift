import ArgumentParser
import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import SplitIO

extension VLab.Bench {
    /// `vlab bench io`: the same guest disk workload over the three I/O virtualization paths.
    struct IO: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "io",
            abstract: "Run one guest disk workload over the split driver, the emulated controller and the pass-through device, then network workloads between two DomUs.",
            discussion: """
                The I/O guest (Sources/VLabCLI/Guests/io) runs as a DomU under trap-and-emulate and makes 4 KiB \
                requests, sequential and random, reads and writes, in small and large batches, on each path: \
                split-driver (blkfront, shared ring, event channel, Dom0's Swift backend), emulated (the vlab-disk \
                controller, every register access an exit), pass-through (the vlab-dma device, DMA through the \
                IOMMU). Columns: guest instructions per request, requests per million guest instructions and per \
                second (wall), VM exits and notifications (event sends plus virtual interrupts) per request, the \
                exits' modelled cost per request in instruction-equivalents (Sources/Hypervisor/OverheadModel.swift: \
                a world switch plus the handling cost of each reason), the VMM's CPU time in its I/O handlers \
                (hypercalls, Dom0's backend, device emulation and DMA) per request, and the two most frequent exits. Every row is checked: the image and the data the guest read must match a \
                host-side replay; a row that does not is WRONG and vlab exits non-zero after the table.

                A second table, the network section, runs the network guest (Sources/VLabCLI/Guests/net) in two \
                DomUs whose vifs meet on Dom0's bridge: ping (ICMP echo round trips) and bulk transfers (MTU-sized \
                frames, windowed). Columns: frames switched, frames per second (wall), frames per million busy guest \
                instructions (both domains, without the instructions a blocked domain spins out its slice with), \
                busy instructions per frame, the idle share of all guest instructions, VM exits and notifications per \
                frame, VMM CPU per frame, frames dropped. \
                Every row is checked against the host's checksum of the payload.
                """)

        @Option(help: "4 KiB requests per row.")
        var requests: UInt32 = 256

        @Option(help: "The engine the hart uses.")
        var engine: ExecutionEngineKind = .translator

        @Option(help: "Echo round trips per ping row.")
        var pings: UInt32 = 200

        @Option(help: "Bytes per bulk row.")
        var bulkBytes: UInt32 = 1 << 20

        @Flag(help: "Run only the network section.")
        var networkOnly = false

        func validate() throws {
            guard (1...65_536).contains(requests) else { throw ValidationError("--requests \(requests): must be 1...65536") }
            guard (1...100_000).contains(pings) else { throw ValidationError("--pings \(pings): must be 1...100000") }
            guard (1...(64 << 20)).contains(bulkBytes) else { throw ValidationError("--bulk-bytes \(bulkBytes): must be 1...67108864") }
        }

        func run() throws {
            guard let url = Bundle.module.url(forResource: "io-guest", withExtension: "elf", subdirectory: "Guests/io") else {
                throw CommandFailure("bench io: the I/O guest image is missing from the bundle")
            }
            let image = try ELFFile(bytes: Array(Data(contentsOf: url)))
            var wrongRows: [String] = []
            if !networkOnly {
                let benchmark = IOBenchmark(image: image, requests: requests, engine: engine)
                let rows = try benchmark.run { printDiagnostic("bench: \($0)") }
                print(IOBenchmark.table(rows), terminator: "")
                wrongRows += rows.filter { $0.verdict != "ok" }.map { "\($0.path) \($0.workload): \($0.verdict)" }
            }
            guard let netURL = Bundle.module.url(forResource: "net-guest", withExtension: "elf", subdirectory: "Guests/net") else {
                throw CommandFailure("bench io: the network guest image is missing from the bundle")
            }
            let network = NetBenchmark(image: try ELFFile(bytes: Array(Data(contentsOf: netURL))), pings: pings, bulkBytes: bulkBytes,
                                       engine: engine)
            let netRows = try network.run { printDiagnostic("bench: \($0)") }
            if !networkOnly { print("") }
            print(NetBenchmark.table(netRows), terminator: "")
            wrongRows += netRows.filter { $0.verdict != "ok" }.map { "network \($0.workload): \($0.verdict)" }
            if let wrong = wrongRows.first { throw CommandFailure("bench io: \(wrong)") }
        }
    }
}

/// The measurements behind `vlab bench io`.
struct IOBenchmark {
    var image: ELFFile
    var requests: UInt32
    var engine: ExecutionEngineKind
    /// Disk size in 4 KiB pages (1 MiB).
    var diskPages: UInt32 = 256
    var batches: [UInt32] = [1, 16]

    struct Row {
        var path: IOPath
        var workload: IOWorkload
        var measurement: IOMeasurement?
        var verdict: String
    }

    func run(progress: (String) -> Void) throws -> [Row] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-bench-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var rows: [Row] = []
        let kinds: [(IOWorkload.Pattern, IOWorkload.Operation)] = [(.sequential, .read), (.sequential, .write), (.random, .read), (.random, .write)]
        for path in IOPath.allCases {
            for (pattern, operation) in kinds {
                for batch in batches {
                    let workload = IOWorkload(pattern: pattern, operation: operation, batch: batch, requests: requests, diskPages: diskPages)
                    progress("\(path) \(workload)")
                    rows.append(try row(path, workload, directory: directory))
                }
            }
        }
        return rows
    }

    private func row(_ path: IOPath, _ workload: IOWorkload, directory: URL) throws -> Row {
        let file = directory.appendingPathComponent("disk.img").path
        let initial = (0..<Int(diskPages) * 4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try Data(initial).write(to: URL(fileURLWithPath: file))
        let disk = try RawDiskImage(path: file)
        var experiment = IOExperiment(image: image, path: path, workload: workload)
        experiment.engine = engine
        let (results, _) = try experiment.run(disks: [disk])
        guard let result = results.first else { return Row(path: path, workload: workload, verdict: "WRONG: no domain ran") }
        guard result.state == .exited(code: 0), let measurement = result.measurement else {
            return Row(path: path, workload: workload, verdict: "WRONG: \(result.state): \(result.console)")
        }
        let expected = workload.expectedResult(initial: initial)
        let final = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
        guard final == expected.image, measurement.checksum == expected.checksum else {
            return Row(path: path, workload: workload, measurement: measurement,
                       verdict: "WRONG: the image or the data read differs from the host-side replay")
        }
        return Row(path: path, workload: workload, measurement: measurement, verdict: "ok")
    }

    static func table(_ rows: [Row]) -> String {
        func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
        let model = OverheadModel()
        var lines = [["path", "workload", "batch", "instr/req", "req/Minstr", "req/s", "exits/req", "notif/req", "exit cost/req",
                      "VMM us/req", "top exits", "check"]]
        for row in rows {
            guard let m = row.measurement else {
                lines.append([row.path.description, kind(row.workload), "\(row.workload.batch)", "-", "-", "-", "-", "-", "-", "-", "-",
                              row.verdict])
                continue
            }
            let count = Double(row.workload.totalRequests)
            let exitCost = m.exits.reduce(0.0) { $0 + Double($1.value) * Double(model.worldSwitch + model.handlingCost($1.key)) }
            let top = m.exits.sorted { $0.value > $1.value }.prefix(2).map { "\($0.key.name) \(fixed(Double($0.value) / count, 2))" }
            lines.append([row.path.description, kind(row.workload), "\(row.workload.batch)",
                          fixed(Double(m.guestInstructions) / count, 0),
                          fixed(count / Double(max(m.guestInstructions, 1)) * 1e6, 1),
                          fixed(count / (Double(max(m.wallNanoseconds, 1)) / 1e9), 0),
                          fixed(Double(m.totalExits) / count, 2), fixed(Double(m.notifications) / count, 2),
                          fixed(exitCost / count, 0), fixed(Double(m.vmmNanoseconds) / 1000 / count, 1), top.joined(separator: ", "),
                          row.verdict == "ok" ? "ok" : "WRONG"])
        }
        let widths = lines[0].indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    private static func kind(_ workload: IOWorkload) -> String {
        "\(workload.pattern == .sequential ? "seq" : "rand") \(workload.operation == .read ? "read" : "write")"
    }
}

/// The network section of `vlab bench io`: two DomUs running the network guest, their vifs on
/// Dom0's bridge, measured between the first domain's marks (after ARP).
struct NetBenchmark {
    var image: ELFFile
    var pings: UInt32
    var bulkBytes: UInt32
    var engine: ExecutionEngineKind

    struct Row {
        var workload: NetWorkload
        var measurement: NetMeasurement?
        var verdict: String
    }

    var workloads: [NetWorkload] {
        [.ping(pings, payload: 56), .ping(pings, payload: 1472),
         .bulk(bulkBytes, window: 8), .bulk(bulkBytes, window: 32), .bulk(bulkBytes, frameData: 512, window: 32)]
    }

    func run(progress: (String) -> Void) throws -> [Row] {
        try workloads.map { workload in
            progress("network \(workload)")
            var experiment = NetExperiment(image: image, workload: workload)
            experiment.engine = engine
            let (results, host) = try experiment.run()
            let expected = workload.expectedChecksum
            guard results.allSatisfy({ $0.state == .exited(code: 0) }), let measurement = host.measurement else {
                let failed = results.first { $0.state != .exited(code: 0) }
                return Row(workload: workload, verdict: "WRONG: \(failed.map { "\($0.name) \($0.state): \($0.console)" } ?? "no measurement")")
            }
            guard results.allSatisfy({ $0.checksum == expected }), measurement.dropped == 0 else {
                return Row(workload: workload, measurement: measurement,
                           verdict: "WRONG: a checksum differs from the host's, or frames were dropped")
            }
            return Row(workload: workload, measurement: measurement, verdict: "ok")
        }
    }

    static func table(_ rows: [Row]) -> String {
        func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
        var lines = [["network workload", "frames", "frames/s", "frames/Mbusy", "busy instr/frame", "idle %", "exits/frame",
                      "notif/frame", "VMM us/frame", "dropped", "top exits", "check"]]
        for row in rows {
            guard let m = row.measurement, m.frames > 0 else {
                lines.append([row.workload.description] + Array(repeating: "-", count: 10) + [row.verdict])
                continue
            }
            let frames = Double(m.frames)
            let top = m.exits.sorted { $0.value > $1.value }.prefix(2).map { "\($0.key.name) \(fixed(Double($0.value) / frames, 2))" }
            lines.append([row.workload.description, "\(m.frames)", fixed(frames / (Double(max(m.wallNanoseconds, 1)) / 1e9), 0),
                          fixed(frames / Double(max(m.busyInstructions, 1)) * 1e6, 1), fixed(Double(m.busyInstructions) / frames, 0),
                          fixed(Double(m.idleInstructions) / Double(max(m.guestInstructions, 1)) * 100, 0),
                          fixed(Double(m.totalExits) / frames, 2), fixed(Double(m.notifications) / frames, 2),
                          fixed(Double(m.vmmNanoseconds) / 1000 / frames, 1), "\(m.dropped)", top.joined(separator: ", "),
                          row.verdict == "ok" ? "ok" : "WRONG"])
        }
        let widths = lines[0].indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
