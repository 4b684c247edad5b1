import ArgumentParser
import Foundation
import Machine

extension VLab {
    /// `vlab bench`: the project's own benchmarks. Every number the README quotes comes from here.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Measure VirtLab against real peers (default: the execution engines against qemu-riscv32).",
            subcommands: [Engines.self, ContainerBenchCommand.self, VMM.self, IO.self, Memory.self],
            defaultSubcommand: Engines.self)
    }
}

extension VLab.Bench {
    /// `vlab bench [engines]`: the shipped workloads on each engine and on qemu-riscv32.
    struct Engines: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the benchmark workloads on each engine and on qemu-riscv32, and compare.",
            discussion: """
                Workloads (RV32IM Linux programs shipped with vlab, about 3e8 instructions each): \
                \(BenchWorkload.all.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).

                Each workload runs on every engine in this process (as `vlab run` runs it) and under \
                qemu-riscv32 when it is installed. Per workload and engine the table shows the retired \
                instructions (VirtLab's count; QEMU's row shows the same program's count), the wall time \
                (the median of the repeats, start-up included on both sides), MIPS, the ratio of the wall \
                time to qemu-riscv32's measured in the same run, and PASS/MISS against the targets \
                (translator <= 2x, interpreter <= 6x); then the processor time and its ratio to QEMU's, \
                which spread less than wall time when other work shares the machine. Every run's output and exit status must equal \
                qemu-riscv32's, and the engines must retire the same instructions; a run that does not \
                is WRONG and vlab exits non-zero after printing the table.
                """)

        @Option(name: .customLong("workload"),
                help: ArgumentHelp("Run only this workload (repeatable): \(BenchWorkload.names.joined(separator: ", ")).",
                                   valueName: "name"))
        var workloads: [String] = []

        @Option(name: .customLong("engine"),
                help: ArgumentHelp("Run only this engine (repeatable).",
                                   valueName: "engine"))
        var engines: [ExecutionEngineKind] = []

        @Option(name: .customLong("repeat"), help: ArgumentHelp("Run everything N times and report the median time.", valueName: "N"))
        var repeatCount = 3

        @Option(help: ArgumentHelp("Give every workload N rounds instead of its default (for a quick check; "
                                   + "the numbers are then not comparable with a full run).", valueName: "N"))
        var rounds: UInt32?

        @Option(help: ArgumentHelp("Also write the results as JSON to this file.", valueName: "path"))
        var json: String?

        @Flag(help: "Do not run qemu-riscv32 (no ratios; the engines are checked only against each other).")
        var noQemu = false

        func validate() throws {
            for name in workloads where BenchWorkload.named(name) == nil {
                throw ValidationError("--workload \(name): no such workload (there are \(BenchWorkload.names.joined(separator: ", ")))")
            }
            guard (1...100).contains(repeatCount) else {
                throw ValidationError("--repeat \(repeatCount): must be 1...100")
            }
            if let rounds, !(1...1_000_000_000).contains(rounds) {
                throw ValidationError("--rounds \(rounds): must be 1...1000000000")
            }
        }

        /// The benchmark these options ask for. Duplicates collapse, the order stays the table's.
        func benchmark() -> EngineBenchmark {
            var benchmark = EngineBenchmark()
            if !workloads.isEmpty { benchmark.workloads = BenchWorkload.all.filter { workloads.contains($0.name) } }
            if !engines.isEmpty { benchmark.engines = ExecutionEngineKind.allCases.filter { engines.contains($0) } }
            benchmark.repeatCount = repeatCount
            benchmark.rounds = rounds
            benchmark.qemu = noQemu ? nil : BenchRunner.findQEMU()
            return benchmark
        }

        func run() throws {
            var benchmark = benchmark()
            if !noQemu && benchmark.qemu == nil {
                printDiagnostic("bench: qemu-riscv32 is not installed; measuring VirtLab's engines alone (no ratios)")
            }
            benchmark.progress = { printDiagnostic("bench: \($0)") }
            let report = try benchmark.run()
            print(report.table(), terminator: "")
            if let json { try writeOutput(try report.json(), to: json) }
            if let wrong = report.wrongResults.first {
                throw CommandFailure("bench: \(report.wrongResults.count) wrong result(s); first: \(wrong.workload) on \(wrong.engine): \(wrong.verification)")
            }
        }
    }
}
