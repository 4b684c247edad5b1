import Foundation

/// The machine a benchmark ran on: numbers mean little without it (the README quotes it beside them).
struct HostDescription: Codable, Equatable, Sendable {
    var processor: String
    var logicalProcessors: Int
    var operatingSystem: String
    /// The one-minute load average when the benchmark started (Linux): on a shared machine, other
    /// work competes for the processors and the times, QEMU's included, spread accordingly.
    var loadAverage: Double?

    static func current() -> HostDescription {
        // Linux names the processor in /proc/cpuinfo; elsewhere it stays unnamed.
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n")
            .first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        return HostDescription(processor: model ?? "unknown processor",
                               logicalProcessors: ProcessInfo.processInfo.activeProcessorCount,
                               operatingSystem: ProcessInfo.processInfo.operatingSystemVersionString,
                               loadAverage: loadAverage())
    }

    /// The first field of /proc/loadavg, or nil where there is none.
    static func loadAverage() -> Double? {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))
            .flatMap { $0.split(separator: " ").first }
            .flatMap { Double($0) }
    }
}

/// One row of the table: one workload on one runner.
struct BenchMeasurement: Codable, Equatable, Sendable {
    var workload: String
    /// "interpreter", "translator" or "qemu-riscv32".
    var engine: String
    /// Retired instructions as VirtLab counts them (for qemu-riscv32's row, VirtLab's count of the
    /// same program, which is deterministic).
    var instructions: UInt64
    /// Median wall time over the repeats.
    var seconds: Double
    /// Every repeat's wall time, in run order.
    var samples: [Double]
    /// Millions of instructions per second at the median time.
    var mips: Double
    /// Median processor time (user + system) over the repeats, and every repeat's.
    var cpuSeconds: Double
    var cpuSamples: [Double]
    /// Wall time over qemu-riscv32's on the same workload in the same run; nil without QEMU
    /// and on QEMU's own row. The targets are about this ratio.
    var ratioToQEMU: Double?
    /// The same for processor time: on a machine other work keeps busy, this one is steadier.
    var cpuRatioToQEMU: Double?
    /// The limit on that ratio for this engine (nil for QEMU).
    var targetRatio: Double?
    /// Whether the ratio is within the target (nil when there is no ratio).
    var meetsTarget: Bool?
    /// The line the workload printed (its checksum) on this runner.
    var output: String
    /// Whether the result is right: exit status 0, the checksum line, equal to qemu-riscv32's
    /// and to the other engines', the same on every repeat, the same instruction count.
    var verified: Bool
    /// "reference", "matches qemu", "engines agree", or what was wrong.
    var verification: String

    /// The table's result column: a wrong answer fast is no result, so WRONG beats PASS.
    var verdict: String {
        if !verified { return "WRONG" }
        switch meetsTarget {
        case true?: return "PASS"
        case false?: return "MISS"
        case nil: return "-"
        }
    }
}

/// Everything one `vlab bench engines` run measured; `--json` writes it as is.
struct BenchReport: Codable, Equatable, Sendable {
    var host: HostDescription
    /// The first line of `qemu-riscv32 --version`; nil when QEMU did not run.
    var qemuVersion: String?
    var repeatCount: Int
    /// The round count every workload got; nil for each workload's default.
    var rounds: UInt32?
    var results: [BenchMeasurement]

    var wrongResults: [BenchMeasurement] { results.filter { !$0.verified } }

    static let columns = ["workload", "engine", "instructions", "seconds", "MIPS", "vs-qemu", "target", "result",
                          "cpu-s", "cpu-vs-qemu", "output"]

    /// The rows as text cells, in the column order above.
    var cells: [[String]] {
        results.map { row in
            [row.workload, row.engine, String(row.instructions), String(format: "%.3f", row.seconds),
             String(format: "%.1f", row.mips),
             row.ratioToQEMU.map { String(format: "%.2f", $0) } ?? "-",
             row.targetRatio.map { String(format: "<=%g", $0) } ?? "-",
             row.verdict,
             String(format: "%.3f", row.cpuSeconds),
             row.cpuRatioToQEMU.map { String(format: "%.2f", $0) } ?? "-",
             row.verified ? row.verification : "see below"]
        }
    }

    /// The table `vlab bench` prints: one row per workload and runner, numbers right-aligned,
    /// followed by what each WRONG row got wrong and the machine the numbers come from.
    func table() -> String {
        let rows = [Self.columns] + cells
        let widths = Self.columns.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        // Text columns (workload, engine, output) line up on the left, numbers on the right.
        let leftAligned: Set<Int> = [0, 1, Self.columns.count - 1]
        func format(_ row: [String]) -> String {
            row.indices.map { column in
                let padding = String(repeating: " ", count: widths[column] - row[column].count)
                return leftAligned.contains(column) ? row[column] + padding : padding + row[column]
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var lines = rows.map(format)
        lines.insert(String(repeating: "-", count: lines[0].count), at: 1)
        for row in wrongResults {
            lines.append("WRONG \(row.workload) on \(row.engine): \(row.verification)")
        }
        lines.append("")
        let timing = repeatCount > 1 ? "median of \(repeatCount) runs" : "one run"
        if let qemuVersion {
            lines.append("seconds: wall time, \(timing); vs-qemu: that time over qemu-riscv32's in this run (\(qemuVersion)).")
            lines.append("cpu-s: processor time (user + system) of the run, cpu-vs-qemu its ratio to qemu-riscv32's: steadier than wall time when other work shares the machine.")
            lines.append("targets (issue 3): translator <= 2x, interpreter <= 6x qemu-riscv32's time; "
                + "\(results.filter { $0.meetsTarget == true && $0.verified }.count) of "
                + "\(results.filter { $0.targetRatio != nil }.count) met.")
        } else {
            lines.append("seconds: wall time, \(timing); cpu-s: processor time; qemu-riscv32 did not run, so there are no ratios and the engines were checked only against each other.")
        }
        if let rounds { lines.append("rounds: \(rounds) per workload (not the defaults: numbers are not comparable with a full run).") }
        let load = host.loadAverage.map { String(format: ", load average %.2f at the start", $0) } ?? ""
        lines.append("host: \(host.processor), \(host.logicalProcessors) logical processors, \(host.operatingSystem)\(load).")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The report as JSON, keys sorted so reports diff well.
    func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return [UInt8](try encoder.encode(self)) + [0x0A]
    }
}
