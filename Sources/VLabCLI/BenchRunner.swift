import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Machine
import RISCV

/// What runs a workload in a benchmark: one of VirtLab's engines, in this process, or QEMU's
/// user-mode emulator as a separate process (the yardstick).
enum BenchRunner: Hashable, Sendable {
    case engine(ExecutionEngineKind)
    case qemu

    var name: String {
        switch self {
        case .engine(let kind): return kind.rawValue
        case .qemu: return "qemu-riscv32"
        }
    }

    /// The targets, as the most wall time an engine may take relative to qemu-riscv32 on
    /// the same workload in the same run (issue 3: translator ≤ 2×, interpreter ≤ 6×).
    var targetRatio: Double? {
        switch self {
        case .engine(.translator): return 2
        case .engine(.interpreter): return 6
        case .qemu: return nil
        }
    }
}

/// How a guest program ended, in terms VirtLab and QEMU share.
enum GuestEnding: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case killed(Int32)
    /// It did not end as a program can: a guest fault, the instruction limit, a timeout.
    case failed(String)

    var description: String {
        switch self {
        case .exited(let status): return "exit status \(status)"
        case .killed(let signal): return "killed by signal \(signal)"
        case .failed(let why): return why
        }
    }
}

/// One run of one workload on one runner.
struct GuestRun: Equatable, Sendable {
    var standardOutput: [UInt8]
    var standardError: [UInt8]
    var ending: GuestEnding
    /// Wall time of the whole run: for VirtLab from building the machine to the process's exit,
    /// for QEMU from starting its process to its exit (so both include their start-up).
    var seconds: Double
    /// Processor time (user + system) the run used: this thread's for VirtLab, the QEMU process's
    /// (all its threads) for QEMU. On a busy machine it spreads far less than wall time.
    var cpuSeconds: Double
    /// Retired instructions, where the runner counts them (VirtLab does; QEMU does not).
    var instructions: UInt64?

    var outputText: String { String(decoding: standardOutput, as: UTF8.self) }

    /// The observable result, everything but the time: what must be equal across runners.
    func sameResult(as other: GuestRun) -> Bool {
        standardOutput == other.standardOutput && standardError == other.standardError && ending == other.ending
    }
}

/// A scratch folder with the files a run's stdin, stdout and stderr go through. Files, not pipes,
/// so a chatty guest never blocks on a full pipe while nobody reads it.
private struct CapturedStreams {
    let folder: URL
    let input: FileHandle
    let output: FileHandle
    let error: FileHandle

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-bench-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for name in ["stdin", "stdout", "stderr"] {
                _ = FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: nil)
            }
            input = try FileHandle(forReadingFrom: folder.appendingPathComponent("stdin"))
            output = try FileHandle(forWritingTo: folder.appendingPathComponent("stdout"))
            error = try FileHandle(forWritingTo: folder.appendingPathComponent("stderr"))
        } catch {
            throw CommandFailure("\(folder.path): cannot create the files a benchmark run writes to: \(error.localizedDescription)")
        }
    }

    /// Closes the files, reads back what the guest wrote and removes the folder.
    func finish() -> (output: [UInt8], error: [UInt8]) {
        try? input.close()
        try? output.close()
        try? error.close()
        let written = (
            [UInt8]((try? Data(contentsOf: folder.appendingPathComponent("stdout"))) ?? Data()),
            [UInt8]((try? Data(contentsOf: folder.appendingPathComponent("stderr"))) ?? Data()))
        try? FileManager.default.removeItem(at: folder)
        return written
    }
}

extension BenchRunner {
    /// Looks `qemu-riscv32` up on PATH (and in /usr/bin, /usr/local/bin).
    static func findQEMU() -> String? {
        var directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories += ["/usr/bin", "/usr/local/bin"]
        return directories.filter { !$0.isEmpty }.map { $0 + "/qemu-riscv32" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The first line `qemu-riscv32 --version` prints, for the report.
    static func qemuVersion(_ path: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
    }

    /// Runs a workload on one of VirtLab's engines, in this process, as `vlab run` would.
    static func runOnVirtLab(_ engine: ExecutionEngineKind, image: ELFFile, programName: String,
                             arguments: [String], instructionLimit: UInt64) throws -> GuestRun {
        let streams = try CapturedStreams()
        let clock = Stopwatch()
        let cpuStart = ProcessorTime.thisThread()
        let machine: Machine
        let process: LinuxProcess
        do {
            var configuration = MachineConfiguration()
            configuration.interceptUserTraps = true
            configuration.engine = engine
            machine = try Machine(configuration: configuration)
            process = try LinuxProcess(
                machine: machine, executable: image, arguments: [programName] + arguments, environment: [],
                standardStreams: LinuxStandardStreams(input: streams.input.fileDescriptor,
                                                      output: streams.output.fileDescriptor,
                                                      error: streams.error.fileDescriptor))
        } catch {
            _ = streams.finish()
            throw CommandFailure("\(programName): \(error)")
        }
        let ending: GuestEnding
        switch process.run(maxInstructions: instructionLimit) {
        case .exited(let status): ending = .exited(status)
        case .killed(let signal): ending = .killed(signal)
        case .instructionLimit: ending = .failed("still running after \(instructionLimit) instructions")
        case .fault(let message): ending = .failed("guest fault: \(message)")
        }
        let seconds = clock.seconds
        let cpuSeconds = ProcessorTime.thisThread() - cpuStart
        let written = streams.finish()
        return GuestRun(standardOutput: written.output, standardError: written.error, ending: ending,
                        seconds: seconds, cpuSeconds: cpuSeconds, instructions: machine.retiredInstructions)
    }

    /// Runs a workload under `qemu-riscv32` and times the whole process.
    static func runOnQEMU(_ qemu: String, imagePath: String, arguments: [String], timeout: Double) throws -> GuestRun {
        let streams = try CapturedStreams()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu)
        process.arguments = [imagePath] + arguments
        process.standardInput = streams.input
        process.standardOutput = streams.output
        process.standardError = streams.error
        // The end of the process signals a semaphore, so the wait has no polling interval to add
        // to the time measured, and a guest that never ends cannot hang the benchmark.
        let ended = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in ended.signal() }
        let cpuStart = ProcessorTime.waitedForChildren()
        let clock = Stopwatch()
        do {
            try process.run()
        } catch {
            _ = streams.finish()
            throw CommandFailure("\(qemu): cannot start it: \(error.localizedDescription)")
        }
        var ending: GuestEnding
        if ended.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            ended.wait()
            ending = .failed("still running after \(Int(timeout)) s")
        } else {
            ending = process.terminationReason == .exit ? .exited(process.terminationStatus) : .killed(process.terminationStatus)
        }
        let seconds = clock.seconds
        // The child has been waited for (its termination handler ran), so its time is counted.
        let cpuSeconds = ProcessorTime.waitedForChildren() - cpuStart
        let written = streams.finish()
        return GuestRun(standardOutput: written.output, standardError: written.error, ending: ending,
                        seconds: seconds, cpuSeconds: cpuSeconds, instructions: nil)
    }
}

/// `vlab bench engines` as a library: runs every selected workload on every selected engine and
/// on qemu-riscv32, `repeatCount` times each, and checks every run's result against qemu's.
struct EngineBenchmark {
    var workloads: [BenchWorkload] = BenchWorkload.all
    var engines: [ExecutionEngineKind] = ExecutionEngineKind.allCases
    /// Median of this many runs per workload and runner.
    var repeatCount = 3
    /// The round count every workload gets; nil for each one's default (about 3×10^8 instructions).
    var rounds: UInt32?
    /// The qemu-riscv32 executable, or nil to run VirtLab's engines alone.
    var qemu: String?
    /// A workload still running after this many instructions (or QEMU after `qemuTimeout` seconds)
    /// is a failed run, not a hung benchmark. Once one engine has run a workload, the others get
    /// twice its count: a looping engine is caught in seconds, not after 10^11 instructions.
    var instructionLimit: UInt64 = 100_000_000_000
    var qemuTimeout: Double = 600
    /// Told about each workload as it starts (the command prints these to stderr).
    var progress: (String) -> Void = { _ in }

    /// The runners in the order each round runs them: QEMU first, as the reference.
    var runners: [BenchRunner] { (qemu == nil ? [] : [.qemu]) + engines.map(BenchRunner.engine) }

    func run() throws -> BenchReport {
        var report = BenchReport(host: HostDescription.current(), qemuVersion: qemu.flatMap(BenchRunner.qemuVersion),
                                 repeatCount: repeatCount, rounds: rounds, results: [])
        for workload in workloads {
            report.results += try measure(workload)
        }
        return report
    }

    /// All runners on one workload. Repeats interleave the runners (qemu, engines, qemu, engines...)
    /// so a change in the machine's load during the run hits every runner alike.
    func measure(_ workload: BenchWorkload) throws -> [BenchMeasurement] {
        let (url, elf) = try workload.image()
        let arguments = BenchWorkload.arguments(rounds: rounds)
        var first: [BenchRunner: GuestRun] = [:]
        var samples: [BenchRunner: [Double]] = [:]
        var cpuSamples: [BenchRunner: [Double]] = [:]
        var changedBetweenRepeats: Set<BenchRunner> = []
        progress("\(workload.name): \(runners.map(\.name).joined(separator: ", ")), \(repeatCount) time(s) each")
        for _ in 1...max(1, repeatCount) {
            for runner in runners {
                let run: GuestRun
                switch runner {
                case .qemu:
                    run = try BenchRunner.runOnQEMU(qemu ?? "qemu-riscv32", imagePath: url.path, arguments: arguments,
                                                    timeout: qemuTimeout)
                case .engine(let kind):
                    let known = first.values.lazy.compactMap(\.instructions).first
                    let limit = known.map { min(instructionLimit, $0 * 2 + 1_000_000) } ?? instructionLimit
                    run = try BenchRunner.runOnVirtLab(kind, image: elf, programName: url.path, arguments: arguments,
                                                       instructionLimit: limit)
                }
                samples[runner, default: []].append(run.seconds)
                cpuSamples[runner, default: []].append(run.cpuSeconds)
                if let earlier = first[runner] {
                    if !run.sameResult(as: earlier) || run.instructions != earlier.instructions {
                        changedBetweenRepeats.insert(runner)
                    }
                } else {
                    first[runner] = run
                }
            }
        }
        return verdicts(workload, first: first, samples: samples, cpuSamples: cpuSamples,
                        changedBetweenRepeats: changedBetweenRepeats)
    }

    /// Turns the runs of one workload into table rows: times, rates, ratios and whether each
    /// result is right. A result is right when it equals qemu-riscv32's (or, without QEMU, when
    /// the engines agree) and the instruction counts of all engines agree, since the engines
    /// must retire exactly the same instructions.
    func verdicts(_ workload: BenchWorkload, first: [BenchRunner: GuestRun], samples: [BenchRunner: [Double]],
                  cpuSamples: [BenchRunner: [Double]], changedBetweenRepeats: Set<BenchRunner>) -> [BenchMeasurement] {
        // QEMU counts nothing; its row shows the count VirtLab retired for the same program
        // (deterministic, and checked equal across the engines below).
        let referenceCount = engines.lazy.compactMap { first[.engine($0)]?.instructions }.first ?? 0
        let qemuRun = first[.qemu]
        let qemuSeconds = samples[.qemu].map(median)
        let qemuCPUSeconds = cpuSamples[.qemu].map(median)
        let expectedPrefix = "\(workload.name) rounds="

        return runners.compactMap { runner -> BenchMeasurement? in
            guard let run = first[runner], let times = samples[runner] else { return nil }
            let seconds = median(times)
            let instructions = run.instructions ?? referenceCount
            var problems: [String] = []
            if run.ending != .exited(0) { problems.append(run.ending.description) }
            if !run.outputText.hasPrefix(expectedPrefix) || !run.outputText.contains(" checksum=0x") {
                problems.append("printed \(quoted(run.outputText)), not the workload's checksum line")
            }
            if changedBetweenRepeats.contains(runner) { problems.append("the result changed between repeats") }
            let verification: String
            switch runner {
            case .qemu:
                verification = "reference"
            case .engine:
                if let qemuRun, !run.sameResult(as: qemuRun) {
                    problems.append("qemu-riscv32 printed \(quoted(qemuRun.outputText)) (\(qemuRun.ending)), "
                        + "this engine \(quoted(run.outputText)) (\(run.ending))")
                }
                // Every engine against every other: without QEMU there is no telling which one is
                // wrong, so both are marked.
                for other in engines.map(BenchRunner.engine) where other != runner {
                    guard let otherRun = first[other] else { continue }
                    if !run.sameResult(as: otherRun) { problems.append("differs from \(other.name)'s result") }
                    if run.instructions != otherRun.instructions {
                        problems.append("retired \(run.instructions ?? 0) instructions, \(other.name) \(otherRun.instructions ?? 0)")
                    }
                }
                verification = qemuRun == nil ? "engines agree" : "matches qemu"
            }
            let ratio = qemuSeconds.flatMap { $0 > 0 ? seconds / $0 : nil }
            let cpuSeconds = median(cpuSamples[runner] ?? [])
            let cpuRatio = qemuCPUSeconds.flatMap { $0 > 0 ? cpuSeconds / $0 : nil }
            let target = runner.targetRatio
            return BenchMeasurement(
                workload: workload.name, engine: runner.name, instructions: instructions, seconds: seconds,
                samples: times, mips: seconds > 0 ? Double(instructions) / seconds / 1e6 : 0,
                cpuSeconds: cpuSeconds, cpuSamples: cpuSamples[runner] ?? [],
                ratioToQEMU: runner == .qemu ? nil : ratio, cpuRatioToQEMU: runner == .qemu ? nil : cpuRatio,
                targetRatio: target,
                meetsTarget: ratio.flatMap { r in target.map { r <= $0 } },
                output: run.outputText.trimmingCharacters(in: .newlines),
                verified: problems.isEmpty, verification: problems.isEmpty ? verification : problems.joined(separator: "; "))
        }
    }
}

/// Processor time in seconds, user plus system.
enum ProcessorTime {
    /// The calling thread's, so work elsewhere in the process does not count.
    static func thisThread() -> Double {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// All children of this process that have ended and been waited for, summed over their threads.
    static func waitedForChildren() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        let children = RUSAGE_CHILDREN.rawValue   // an enum in glibc's headers, a plain int elsewhere
        #else
        let children = RUSAGE_CHILDREN
        #endif
        guard getrusage(children, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// The middle value (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

private func quoted(_ text: String) -> String {
    let trimmed = text.trimmingCharacters(in: .newlines)
    return "\"" + (trimmed.count > 80 ? trimmed.prefix(80) + "…" : trimmed) + "\""
}
