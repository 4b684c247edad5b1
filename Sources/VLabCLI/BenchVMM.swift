import ArgumentParser
import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV

extension VLab.Bench {
    /// `vlab bench vmm`: the shipped teaching kernel bare and under every VMM mode.
    struct VMM: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vmm",
            abstract: "Run the teaching kernel bare and under each VMM mode; compare exits and overhead.",
            discussion: """
                Rows: bare, then every mode (\(VMMMode.allCases.map(\.rawValue).joined(separator: ", "))), each \
                booting the shipped kernel build that fits it. Columns: exits in all, the three most frequent \
                exit reasons, guest instructions retired, the modelled overhead (instruction-equivalents over \
                bare kernel.elf's instructions: \(OverheadModel().worldSwitch) per world switch plus a per-reason \
                handling cost, see Sources/Hypervisor/OverheadModel.swift), and the wall time (median of the \
                repeats) with its ratio to bare. A mode whose console output or exit status differs from \
                bare's is WRONG and vlab exits non-zero after the table.
                """)

        @Option(help: "The engine the hart uses for every row.")
        var engine: ExecutionEngineKind = .translator

        @Option(name: .customLong("repeat"), help: ArgumentHelp("Run every row N times and report the median wall time.", valueName: "N"))
        var repeatCount = 3

        func validate() throws {
            guard (1...100).contains(repeatCount) else { throw ValidationError("--repeat \(repeatCount): must be 1...100") }
        }

        func run() throws {
            let report = try VMMBenchmark(engine: engine, repeatCount: repeatCount).run { printDiagnostic("bench: \($0)") }
            print(report.table(), terminator: "")
            if let wrong = report.rows.first(where: { $0.verdict.hasPrefix("WRONG") }) {
                throw CommandFailure("bench vmm: \(wrong.mode): \(wrong.verdict)")
            }
        }
    }
}

/// The measurements behind `vlab bench vmm`.
struct VMMBenchmark {
    var engine: ExecutionEngineKind = .translator
    var repeatCount = 3
    /// Guest instructions before a row is stopped as runaway.
    var budget: UInt64 = 200_000_000

    struct Row {
        var mode: String
        var statistics: ExitStatistics?
        var instructions: UInt64?
        var overhead: Double?
        var seconds: Double?
        var ratio: Double?
        /// "ok", "WRONG: ...", or why the row has no numbers.
        var verdict: String
    }

    struct Report {
        var engine: ExecutionEngineKind
        var rows: [Row]

        func table() -> String {
            var lines = ["vlab bench vmm: the teaching kernel on the \(engine), bare and under each VMM mode",
                         pad("mode", 20) + pad("exits", 9, right: true) + "  " + pad("top exit reasons", 52)
                            + pad("guest instr", 12, right: true) + pad("overhead", 10, right: true) + pad("wall", 16, right: true) + "  result"]
            for row in rows {
                guard let instructions = row.instructions else {
                    lines.append(pad(row.mode, 20) + pad("-", 9, right: true) + "  " + row.verdict)
                    continue
                }
                let statistics = row.statistics ?? ExitStatistics()
                let top = statistics.byFrequency.prefix(3).map { "\($0.reason) \($0.count)" }.joined(separator: ", ")
                let wall = row.seconds.map { "\(twoDecimals($0)) s" + (row.ratio.map { " \(twoDecimals($0))x" } ?? "") } ?? "-"
                lines.append(pad(row.mode, 20) + pad("\(statistics.totalExits)", 9, right: true) + "  " + pad(top.isEmpty ? "-" : top, 52)
                             + pad("\(instructions)", 12, right: true) + pad(row.overhead.map { twoDecimals($0) + "x" } ?? "-", 10, right: true)
                             + pad(wall, 16, right: true) + "  " + row.verdict)
            }
            lines.append("overhead = modelled cost / bare instructions; model: \(OverheadModel().worldSwitch) instruction-equivalents per world switch + per-reason handling (Sources/Hypervisor/OverheadModel.swift)")
            return lines.joined(separator: "\n") + "\n"
        }

        private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(1, width - text.count))
            return right ? fill + text : text + fill
        }
    }

    func run(progress: (String) -> Void = { _ in }) throws -> Report {
        let kernel = try ShippedKernel.image(named: VMMMode.trapAndEmulate.shippedKernel)
        progress("bare kernel.elf")
        var bareTimes: [Double] = []
        var bare: BareMetal.Run? = nil
        for _ in 0..<repeatCount {
            let clock = Stopwatch()
            do { bare = try BareMetal.run(kernel, engine: engine, maxInstructions: budget) } catch { throw CommandFailure(error.message) }
            bareTimes.append(clock.seconds)
        }
        guard let bare, bare.exitCode != nil else { throw CommandFailure("bench vmm: the kernel does not finish bare (\(bare?.stop ?? "no run"))") }
        let bareSeconds = median(bareTimes)
        var rows = [Row(mode: "bare", statistics: ExitStatistics(), instructions: bare.instructions, overhead: 1, seconds: bareSeconds,
                        ratio: 1, verdict: "ok")]
        for mode in VMMMode.allCases {
            guard let implementation = VMMModeCatalog.implementation(of: mode) else {
                rows.append(Row(mode: mode.rawValue, verdict: "not available yet"))
                continue
            }
            guard let image = try? ShippedKernel.image(named: mode.shippedKernel) else {
                rows.append(Row(mode: mode.rawValue, verdict: "\(mode.shippedKernel) is not shipped yet"))
                continue
            }
            progress(mode.rawValue)
            var times: [Double] = []
            var last: (VMMBootResult, [UInt8])? = nil
            for _ in 0..<repeatCount {
                final class Sink { var bytes: [UInt8] = [] }
                let sink = Sink()
                var request = VMMBootRequest(image: image, name: mode.shippedKernel, console: ConsoleIO(write: { sink.bytes.append($0) }))
                request.engine = engine
                request.instructionBudget = budget
                let clock = Stopwatch()
                let outcome: VMMBootResult
                do { outcome = try implementation.boot(request) } catch { throw CommandFailure("bench vmm: \(mode): \(error.message)") }
                times.append(clock.seconds)
                last = (outcome, sink.bytes)
            }
            guard let (outcome, console) = last else { continue }
            var verdict = "ok"
            if outcome.result != .exited(code: bare.exitCode ?? 0) {
                verdict = "WRONG: ended with \(outcome.result), bare exits \(bare.exitCode ?? 0)"
            } else if console != bare.console {
                verdict = "WRONG: console output differs from bare"
            }
            let seconds = median(times)
            rows.append(Row(mode: mode.rawValue, statistics: outcome.statistics, instructions: outcome.statistics.guestInstructions,
                            overhead: OverheadModel().overhead(of: outcome.statistics, bareInstructions: bare.instructions),
                            seconds: seconds, ratio: bareSeconds > 0 ? seconds / bareSeconds : nil, verdict: verdict))
        }
        return Report(engine: engine, rows: rows)
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
