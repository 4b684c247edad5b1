import ArgumentParser
import Dispatch
import Foundation
import Grading
#if canImport(Glibc)
import Glibc
#endif

/// `vlab grade`: the instructors' grader. Grading a submission is the default subcommand, so
/// `vlab grade --lab 01 alice.zip` and `vlab grade merge …` both read naturally.
public struct Grade: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "grade",
        abstract: "Grade lab submissions with the hidden tests, in a sandbox; write JUnit XML, Gradescope results and a class CSV.",
        discussion: """
            vlab grade --lab 01 alice.zip --junit alice.xml --gradescope results.json
            vlab grade --lab 01 submissions/ --output grades --jobs 2 [--shard 1/4]
            vlab grade merge grades-1 grades-2 --lab 01 --output grades
            vlab grade --self-check
            """,
        subcommands: [GradeSubmissions.self, GradeMerge.self],
        defaultSubcommand: GradeSubmissions.self)

    public init() {}
}

/// Where the course and the grader's cache are.
struct CourseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The course checkout (default: the one containing the current folder).", valueName: "folder"))
    var course: String?

    @Option(help: ArgumentHelp("Where warm builds and per-submission workspaces live (default: <course>/.build/vlab-grade).",
                               valueName: "folder"))
    var cache: String?

    func locate() throws -> Course {
        do {
            if let course { return try Course(root: course) }
            return try Course.locate()
        } catch {
            throw CommandFailure(error.message)
        }
    }
}

struct GradeSubmissions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submissions",
        abstract: "Grade one submission or a folder of them (the default subcommand).")

    @OptionGroup var courseOptions: CourseOptions

    @Option(help: ArgumentHelp("The lab: its number (01) or folder name (01-isa-interpreter).", valueName: "lab"))
    var lab: String?

    @Argument(help: ArgumentHelp(
        "A submission (a lab folder, a repository checkout, a .zip or .tar.gz), or a folder of submissions.",
        valueName: "submission"))
    var submission: String?

    @Option(help: ArgumentHelp("Write JUnit XML for a single submission here.", valueName: "file"))
    var junit: String?

    @Option(help: ArgumentHelp("Write Gradescope results.json for a single submission here.", valueName: "file"))
    var gradescope: String?

    @Option(help: ArgumentHelp("Write the full report as JSON for a single submission here.", valueName: "file"))
    var report: String?

    @Option(help: ArgumentHelp("Batch mode: the folder for per-submission reports and the class CSV.", valueName: "folder"))
    var output = "grades"

    @Option(help: "Batch mode: submissions graded at once.")
    var jobs = 2

    @Option(help: ArgumentHelp("Batch mode: grade only shard i of n (1-based); join shards with `vlab grade merge`.",
                               valueName: "i/n"))
    var shard: String?

    @Flag(help: "Grade every reference solution (must score 100%) and every skeleton (must score 0%).")
    var selfCheck = false

    @Flag(help: "Keep each submission's workspace in the cache for inspection.")
    var keepWorkspaces = false

    func validate() throws {
        if selfCheck {
            if submission != nil { throw ValidationError("--self-check takes no submission") }
            return
        }
        guard lab != nil else { throw ValidationError("give the lab with --lab, e.g. --lab 01") }
        guard submission != nil else { throw ValidationError("give a submission or a folder of submissions") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if let shard {
            do { _ = try Shard(parsing: shard) } catch { throw ValidationError(error.message) }
        }
    }

    func run() throws {
        installInterruptHandler()
        let course = try courseOptions.locate()
        if selfCheck {
            try runSelfCheck(course: course)
            return
        }
        guard let lab, let submission else { return }
        do {
            let rubric = try course.rubric(forLab: lab)
            guard FileManager.default.fileExists(atPath: submission) else {
                throw GradingError("\(submission): no such file or folder")
            }
            if SubmissionIntake.isSingleSubmission(submission, rubric: rubric) {
                try gradeOne(course: course, submission: submission)
            } else {
                try gradeBatch(course: course, folder: submission, rubric: rubric)
            }
        } catch let error as GradingError {
            // The interrupt handler is cleaning up and will exit with 130; do not race it with an error.
            while gradingWasInterrupted { pause() }
            throw CommandFailure(error.message)
        }
    }

    private func gradeOne(course: Course, submission: String) throws(GradingError) {
        let outputs = [junit, gradescope, report].compactMap { $0 }
        let grader = try Grader(course: course, lab: lab ?? "", cacheRoot: courseOptions.cache,
                                privateDirectories: outputs.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
                                    .filter { $0 != course.root && !course.root.hasPrefix($0 + "/") },
                                keepWorkspaces: keepWorkspaces)
        try grader.prepare(log: printDiagnostic)
        let result = try grader.grade(submission: submission)
        if let junit { try AtomicFile.write(JUnitReport.data(for: [result]), to: junit) }
        if let gradescope { try AtomicFile.write(GradescopeReport.data(for: result), to: gradescope) }
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write((try? encoder.encode(result)) ?? Data(), to: report)
        }
        print(TerminalTable.render(result), terminator: "")
        for test in result.tests where test.reason != nil && test.reason != .compileError {
            print("\n\(test.id) (\(test.reason?.rawValue ?? "")): \(test.message)")
        }
    }

    private func gradeBatch(course: Course, folder: String, rubric: Rubric) throws(GradingError) {
        let shard = try shard.map { (text: String) throws(GradingError) -> Shard in try Shard(parsing: text) }
        let grader = try Grader(course: course, lab: rubric.slug, cacheRoot: courseOptions.cache,
                                privateDirectories: [output, folder], keepWorkspaces: keepWorkspaces)
        let submissions = try BatchGrader.submissions(in: folder)
        guard !submissions.isEmpty else { throw GradingError("\(folder): no submissions (folders or archives) in it") }
        let warmSeconds = try grader.prepare(log: printDiagnostic)
        let started = Date()
        let progress = ProgressLine()
        let rows = try BatchGrader(grader: grader).run(
            submissions: submissions, outputFolder: output, jobs: jobs, shard: shard,
            progress: { done, total, latest in progress.update(done: done, total: total, latest: latest) })
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        for row in rows {
            if let report = row.report {
                print("\(row.submission): \(JUnitReport.points(report.score))/\(JUnitReport.points(report.maxScore))"
                      + (report.compileErrors != nil ? " (compile error)" : ""))
            } else {
                print("\(row.submission): rejected: \(row.rejection ?? "")")
            }
        }
        let perSubmission = rows.isEmpty ? 0 : seconds / Double(rows.count)
        print(String(format: "%d submissions in %.1f s (%.1f s each with --jobs %d; warm build %.1f s)",
                     rows.count, seconds, perSubmission, jobs, warmSeconds))
        print("reports in \(output)/, class CSV \(output)/\(shard.map { $0.fileStem + ".csv" } ?? "class.csv")")
    }

    private func runSelfCheck(course: Course) throws {
        let results: [SelfCheck.LabResult]
        do {
            results = try SelfCheck.run(course: course, labs: lab.map { [$0] }, cacheRoot: courseOptions.cache,
                                        log: { print($0) })
        } catch {
            throw CommandFailure(error.message)
        }
        let problems = results.flatMap(\.problems)
        for problem in problems { print("FAILED: \(problem)") }
        guard problems.isEmpty else { throw ExitCode(1) }
        print("self-check passed: \(results.count) lab(s), every solution 100%, every skeleton 0%")
    }
}

struct GradeMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the outputs of `vlab grade --shard i/n` runs into one class CSV and JUnit file.")

    @OptionGroup var courseOptions: CourseOptions

    @Option(help: ArgumentHelp("The lab the shards graded.", valueName: "lab"))
    var lab: String

    @Argument(help: ArgumentHelp("Shard output folders (or one folder they were copied into).", valueName: "folder"))
    var folders: [String]

    @Option(help: ArgumentHelp("Where to write class.csv and junit.xml.", valueName: "folder"))
    var output = "grades"

    func run() throws {
        do {
            let rubric = try courseOptions.locate().rubric(forLab: lab)
            let result = try ShardMerge.merge(folders: folders, rubric: rubric, outputFolder: output)
            print("merged \(result.shardCount) shard(s), \(result.rows.count) submissions: \(output)/class.csv, \(output)/junit.xml")
        } catch let error as GradingError {
            throw CommandFailure(error.message)
        }
    }
}

/// A one-line progress bar on a terminal; one line per finished submission otherwise (CI logs).
final class ProgressLine: Sendable {
    let isTerminal = isatty(STDERR_FILENO) == 1

    func update(done: Int, total: Int, latest: String) {
        if isTerminal {
            let width = 30
            let filled = total > 0 ? done * width / total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(latest.prefix(30))\u{1B}[K".utf8))
        } else {
            FileHandle.standardError.write(Data("graded \(done)/\(total): \(latest)\n".utf8))
        }
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Ctrl-C or SIGTERM: kill every sandbox, drop half-written reports, exit 130.
private func installInterruptHandler() {
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            stopGradingNow()
            FileHandle.standardError.write(Data("vlab: interrupted; no report was half-written\n".utf8))
            exit(130)
        }
        source.resume()
        interruptSources.withLock { $0.append(source) }
    }
}

private let interruptSources = InterruptSources()

/// Keeps the signal sources alive for the life of the process.
private final class InterruptSources: @unchecked Sendable {
    // Only touched from `installInterruptHandler`, on the main thread, before any grading starts.
    private var sources: [any DispatchSourceSignal] = []
    func withLock(_ body: (inout [any DispatchSourceSignal]) -> Void) { body(&sources) }
}
