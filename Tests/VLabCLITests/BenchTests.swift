import ArgumentParser
import Foundation
import Machine
import RISCV
import Testing
@testable import VLabCLI

/// `vlab bench`: its options, its machinery on tiny versions of the workloads (one round each, so
/// a debug build runs them in seconds), the checks that make a wrong answer count as no result,
/// and the freshness of the committed workload images. Nothing here asserts a time.
@Suite("vlab bench")
struct BenchTests {
    static let workloadsFolder = Checkout.root.appendingPathComponent("Sources/VLabCLI/Workloads")
    static let gcc = Peers.find("riscv64-unknown-elf-gcc")

    // MARK: options

    @Test("`vlab bench` is `vlab bench engines`, with every workload, every engine, 3 repeats and QEMU by default")
    func defaults() throws {
        for arguments in [["bench"], ["bench", "engines"]] {
            let command = try VLab.parseAsRoot(arguments)
            let engines = try #require(command as? VLab.Bench.Engines, "\(arguments) parsed as \(type(of: command))")
            let benchmark = engines.benchmark()
            #expect(benchmark.workloads == BenchWorkload.all)
            #expect(benchmark.engines == ExecutionEngineKind.allCases)
            #expect(benchmark.repeatCount == 3)
            #expect(benchmark.rounds == nil)
            #expect(benchmark.qemu == BenchRunner.findQEMU())
            #expect(engines.json == nil)
        }
    }

    @Test("`vlab bench container` is the containers' benchmark, in the same group")
    func containerSubcommand() throws {
        let command = try VLab.parseAsRoot(["bench", "container", "--rootfs", "/tmp/rootfs"])
        #expect(command is ContainerBenchCommand, "parsed as \(type(of: command))")
    }

    @Test("options select workloads and engines (in table order, duplicates collapsed), repeats, rounds, JSON, no QEMU")
    func options() throws {
        let command = try VLab.Bench.Engines.parse([
            "--workload", "calls", "--workload", "integer", "--workload", "calls", "--engine", "interpreter",
            "--repeat", "5", "--rounds", "7", "--json", "out.json", "--no-qemu"])
        let benchmark = command.benchmark()
        #expect(benchmark.workloads.map(\.name) == ["integer", "calls"])
        #expect(benchmark.engines == [.interpreter])
        #expect(benchmark.repeatCount == 5)
        #expect(benchmark.rounds == 7)
        #expect(benchmark.qemu == nil)
        #expect(benchmark.runners == [.engine(.interpreter)])
        #expect(command.json == "out.json")
    }

    @Test("bad options are refused with a message naming them", arguments: [
        (["--workload", "linpack"], "linpack"),
        (["--engine", "jit"], "jit"),
        (["--repeat", "0"], "--repeat"),
        (["--repeat", "many"], "many"),
        (["--rounds", "0"], "--rounds"),
        (["--rounds=-3"], "-3"),
    ])
    func badOptions(arguments: [String], named: String) {
        do {
            _ = try VLab.Bench.Engines.parse(arguments)
            Issue.record("\(arguments) was accepted")
        } catch {
            let message = VLab.Bench.Engines.message(for: error)
            #expect(message.contains(named), "\(arguments): \(message)")
        }
    }

    // MARK: the machinery, on one round of each workload

    @Test("one round of every workload on every engine: the table's shape, equal counts, outputs checked against QEMU where installed")
    func tinyRun() throws {
        var benchmark = EngineBenchmark()
        benchmark.rounds = 1
        benchmark.repeatCount = 2
        benchmark.qemu = BenchRunner.findQEMU()
        var announced: [String] = []
        benchmark.progress = { announced.append($0) }
        let report = try benchmark.run()

        let runners = benchmark.runners
        #expect(announced.count == BenchWorkload.all.count)
        #expect(report.results.count == BenchWorkload.all.count * runners.count)
        #expect(report.results.map(\.workload) == BenchWorkload.all.flatMap { w in runners.map { _ in w.name } })
        #expect(report.results.map(\.engine) == BenchWorkload.all.flatMap { _ in runners.map(\.name) })
        #expect(report.rounds == 1 && report.repeatCount == 2)

        for workload in BenchWorkload.all {
            let rows = report.results.filter { $0.workload == workload.name }
            // The instruction count is the program's, not the engine's: one number per workload.
            #expect(Set(rows.map(\.instructions)).count == 1, "\(workload.name): \(rows.map(\.instructions))")
            #expect(rows[0].instructions > 10_000, "\(workload.name) ran only \(rows[0].instructions) instructions")
            #expect(Set(rows.map(\.output)).count == 1, "\(workload.name): \(rows.map(\.output))")
            #expect(rows[0].output.hasPrefix("\(workload.name) rounds=1 checksum=0x"), "\(rows[0].output)")
            for row in rows {
                #expect(row.verified, "\(row.workload) on \(row.engine): \(row.verification)")
                #expect(row.samples.count == 2)
                #expect(row.seconds > 0 && row.mips > 0)
                #expect(row.seconds == median(row.samples))
                #expect(row.cpuSamples.count == 2 && row.cpuSeconds == median(row.cpuSamples))
                // A run takes processor time; qemu-riscv32's is counted although it is another process.
                #expect(row.cpuSeconds > 0, "\(row.workload) on \(row.engine): no processor time counted")
            }
        }

        let engineRows = report.results.filter { $0.engine != "qemu-riscv32" }
        if benchmark.qemu != nil {
            #expect(report.qemuVersion?.contains("qemu-riscv32") == true, "\(report.qemuVersion ?? "no version")")
            for row in engineRows {
                #expect(row.verification == "matches qemu")
                #expect(row.ratioToQEMU != nil && row.cpuRatioToQEMU != nil && row.meetsTarget != nil && row.targetRatio != nil)
                #expect(["PASS", "MISS"].contains(row.verdict))
            }
        } else {
            for row in engineRows { #expect(row.ratioToQEMU == nil && row.verdict == "-") }
        }
        #expect(report.results.filter { $0.engine == "translator" }.allSatisfy { $0.targetRatio == 2 })
        #expect(report.results.filter { $0.engine == "interpreter" }.allSatisfy { $0.targetRatio == 6 })

        // The table: a header, a rule, one line per row with every column, then the notes.
        let lines = report.table().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            == BenchReport.columns)
        #expect(BenchReport.columns == ["workload", "engine", "instructions", "seconds", "MIPS", "vs-qemu", "target", "result",
                                        "cpu-s", "cpu-vs-qemu", "output"])
        #expect(lines[1].allSatisfy { $0 == "-" })
        for (line, row) in zip(lines.dropFirst(2), report.results) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            #expect(fields.first == row.workload && fields.dropFirst().first == row.engine, "\(line)")
            #expect(fields.contains(String(row.instructions)) && fields.contains(row.verdict), "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("host: ") })
        #expect(!lines.contains { $0.hasPrefix("WRONG") })

        // JSON carries the same report.
        let decoded = try JSONDecoder().decode(BenchReport.self, from: Data(try report.json()))
        #expect(decoded == report)
    }

    @Test("without QEMU the engines are checked against each other and no ratio is printed")
    func withoutQEMU() throws {
        var benchmark = EngineBenchmark()
        benchmark.workloads = [try #require(BenchWorkload.named("muldiv"))]
        benchmark.rounds = 1
        benchmark.repeatCount = 1
        benchmark.qemu = nil
        let report = try benchmark.run()
        #expect(report.results.map(\.engine) == ExecutionEngineKind.allCases.map(\.rawValue))
        #expect(report.results.allSatisfy { $0.verified && $0.verification == "engines agree" && $0.ratioToQEMU == nil })
        #expect(report.qemuVersion == nil)
        #expect(report.table().contains("qemu-riscv32 did not run"))
    }

    // MARK: a wrong answer is no result

    /// Runs as they would come back from one workload, to feed `verdicts` results that are wrong
    /// in known ways.
    func runs(qemuOutput: String = "muldiv rounds=1 checksum=0x0000abcd\n",
              translatorOutput: String = "muldiv rounds=1 checksum=0x0000abcd\n",
              translatorEnding: GuestEnding = .exited(0), translatorInstructions: UInt64 = 1000)
        -> [BenchRunner: GuestRun] {
        [
            .qemu: GuestRun(standardOutput: Array(qemuOutput.utf8), standardError: [], ending: .exited(0),
                            seconds: 0.5, cpuSeconds: 0.25, instructions: nil),
            .engine(.interpreter): GuestRun(standardOutput: Array(qemuOutput.utf8), standardError: [],
                                            ending: .exited(0), seconds: 2, cpuSeconds: 2, instructions: 1000),
            .engine(.translator): GuestRun(standardOutput: Array(translatorOutput.utf8), standardError: [],
                                           ending: translatorEnding, seconds: 0.75, cpuSeconds: 0.5,
                                           instructions: translatorInstructions),
        ]
    }

    func verdicts(_ first: [BenchRunner: GuestRun], changed: Set<BenchRunner> = []) throws -> [String: BenchMeasurement] {
        var benchmark = EngineBenchmark()
        benchmark.qemu = "/usr/bin/qemu-riscv32"
        let rows = benchmark.verdicts(try #require(BenchWorkload.named("muldiv")), first: first,
                                      samples: first.mapValues { [$0.seconds] },
                                      cpuSamples: first.mapValues { [$0.cpuSeconds] }, changedBetweenRepeats: changed)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.engine, $0) })
    }

    @Test("right answers: ratios to QEMU's time, PASS within the target, MISS beyond it")
    func rightAnswers() throws {
        let rows = try verdicts(runs())
        let qemu = try #require(rows["qemu-riscv32"]), interpreter = try #require(rows["interpreter"])
        let translator = try #require(rows["translator"])
        #expect(qemu.verification == "reference" && qemu.instructions == 1000 && qemu.ratioToQEMU == nil)
        #expect(interpreter.ratioToQEMU == 4 && interpreter.verdict == "PASS")
        #expect(translator.ratioToQEMU == 1.5 && translator.verdict == "PASS")
        #expect(interpreter.cpuRatioToQEMU == 8 && translator.cpuRatioToQEMU == 2 && qemu.cpuRatioToQEMU == nil)
        #expect(translator.mips == 1000 / 0.75 / 1e6)

        var slow = runs()
        slow[.engine(.translator)]?.seconds = 1.25
        #expect(try verdicts(slow)["translator"]?.verdict == "MISS")
    }

    @Test("a different checksum, a crash, a different instruction count or a changing result is WRONG")
    func wrongAnswers() throws {
        let differentChecksum = try verdicts(runs(translatorOutput: "muldiv rounds=1 checksum=0x0000abce\n"))
        #expect(differentChecksum["translator"]?.verdict == "WRONG")
        #expect(differentChecksum["translator"]?.verification.contains("qemu-riscv32 printed") == true)
        // The interpreter was right, but it no longer agrees with the translator: both are marked.
        #expect(differentChecksum["interpreter"]?.verification.contains("differs from translator") == true)

        let crashed = try verdicts(runs(translatorOutput: "", translatorEnding: .killed(11)))
        #expect(crashed["translator"]?.verdict == "WRONG")
        #expect(crashed["translator"]?.verification.contains("killed by signal 11") == true)

        let miscounted = try verdicts(runs(translatorInstructions: 999))
        #expect(miscounted["translator"]?.verdict == "WRONG")
        #expect(miscounted["translator"]?.verification.contains("retired 999 instructions") == true)

        let unstable = try verdicts(runs(), changed: [.engine(.translator)])
        #expect(unstable["translator"]?.verdict == "WRONG")

        // Agreeing with QEMU is not enough if neither printed the workload's line.
        let garbage = try verdicts(runs(qemuOutput: "hello\n", translatorOutput: "hello\n"))
        #expect(garbage.values.allSatisfy { $0.verdict == "WRONG" })

        let report = BenchReport(host: .current(), qemuVersion: "qemu", repeatCount: 1, rounds: nil,
                                 results: Array(differentChecksum.values))
        #expect(report.table().contains("WRONG muldiv on translator: "))
    }

    @Test("a run that does not finish within the instruction limit is WRONG, not a hung benchmark")
    func instructionLimit() throws {
        var benchmark = EngineBenchmark()
        benchmark.workloads = [try #require(BenchWorkload.named("integer"))]
        benchmark.rounds = 1
        benchmark.repeatCount = 1
        benchmark.qemu = nil
        benchmark.instructionLimit = 5_000
        let report = try benchmark.run()
        #expect(report.results.count == ExecutionEngineKind.allCases.count)
        for row in report.results {
            #expect(row.verdict == "WRONG")
            #expect(row.verification.contains("still running after 5000 instructions"), "\(row.verification)")
            #expect(row.instructions == 5_000)
        }
        #expect(report.wrongResults.count == report.results.count)
    }

    // MARK: the workloads themselves

    @Test("a workload refuses a round count that is not a positive number, with a usage line", arguments: ["0", "ten", "99999999999"])
    func workloadUsage(argument: String) throws {
        let workload = try #require(BenchWorkload.named("integer"))
        let (url, elf) = try workload.image()
        let run = try BenchRunner.runOnVirtLab(.interpreter, image: elf, programName: url.path, arguments: [argument],
                                               instructionLimit: 10_000_000)
        #expect(run.ending == .exited(2))
        #expect(run.standardOutput.isEmpty)
        #expect(String(decoding: run.standardError, as: UTF8.self).hasPrefix("usage: integer [ROUNDS]"))
    }

    @Test("every workload ships as a resource and is a static RV32 executable")
    func shippedImages() throws {
        for workload in BenchWorkload.all {
            let (url, elf) = try workload.image()
            #expect(url.lastPathComponent == "\(workload.name).elf")
            #expect(elf.entry != 0)
        }
    }

    @Test("the committed workload images are what build.sh makes from the sources",
          .enabled(if: gcc != nil, "riscv64-unknown-elf-gcc is not installed"))
    func imagesAreFresh() throws {
        let output = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let built = try Peers.run("/bin/sh", [Self.workloadsFolder.appendingPathComponent("build.sh").path, output.path])
        #expect(built.status == 0, "build.sh: \(built.errorText)")
        for workload in BenchWorkload.names {
            let fresh = try Data(contentsOf: output.appendingPathComponent("\(workload).elf"))
            let committed = try Data(contentsOf: Self.workloadsFolder.appendingPathComponent("\(workload).elf"))
            #expect(fresh == committed, "\(workload).elf is stale: run Sources/VLabCLI/Workloads/build.sh")
        }
    }
}

/// `vlab bench` as a user runs it.
@Suite("vlab bench command line", .enabled(if: Checkout.vlabExecutable != nil, "the vlab executable was not built beside the tests"))
struct BenchCommandLineTests {
    let vlab = Checkout.vlabExecutable ?? "vlab"

    @Test("vlab bench --rounds 1 prints the table and writes the JSON report")
    func table() throws {
        let folder = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("bench.json")
        let result = try Peers.run(vlab, ["bench", "--workload", "branch", "--rounds", "1", "--repeat", "1", "--json", json.path])
        #expect(result.status == 0, "\(result.errorText)")
        let lines = result.text.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("workload") == true)
        let rows = lines.filter { $0.hasPrefix("branch ") }
        #expect(rows.count == ExecutionEngineKind.allCases.count + (Peers.qemuUser == nil ? 0 : 1), "\(result.text)")
        let report = try JSONDecoder().decode(BenchReport.self, from: Data(contentsOf: json))
        #expect(report.results.count == rows.count)
        #expect(report.results.allSatisfy { $0.verified })
    }

    @Test("an unknown workload is a one-line error naming it")
    func unknownWorkload() throws {
        let result = try Peers.run(vlab, ["bench", "--workload", "linpack"])
        #expect(result.status != 0)
        #expect(result.errorText.contains("linpack"), "\(result.errorText)")
        #expect(result.text.isEmpty)
    }
}
