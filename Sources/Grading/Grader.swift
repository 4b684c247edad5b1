#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Grades submissions of one lab: intake, a warm incremental build, one sandboxed process per rubric test,
/// and a `SubmissionReport`. Safe to call from several threads at once (each submission has its own job folder
/// and its own mount namespace).
public final class Grader: Sendable {
    public let course: Course
    public let rubric: Rubric
    public let warmBuild: WarmBuild
    public let capabilities: SandboxCapabilities
    let sandbox: Sandbox
    /// Host folders the test processes must not see.
    let hiddenDirectories: [String]
    let keepWorkspaces: Bool

    /// - Parameters:
    ///   - cacheRoot: where the warm template and per-submission jobs live (default `<course>/.build/vlab-grade`).
    ///   - privateDirectories: extra folders to hide from student code and keep out of the template
    ///     (the output folder, the submissions folder).
    public init(course: Course, lab: String, cacheRoot: String? = nil, capabilities: SandboxCapabilities = .probe(),
                privateDirectories: [String] = [], keepWorkspaces: Bool = false) throws(GradingError) {
        self.course = course
        self.rubric = try course.rubric(forLab: lab)
        self.capabilities = capabilities
        self.sandbox = try Sandbox(capabilities: capabilities)
        let cache = URL(fileURLWithPath: cacheRoot ?? course.root + "/.build/vlab-grade").standardizedFileURL.path
        let privateFolders = privateDirectories.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        self.warmBuild = WarmBuild(course: course, rubric: rubric, sandbox: sandbox, cacheRoot: cache,
                                   excluded: privateFolders + [cache])
        self.hiddenDirectories = [course.root, cache] + privateFolders
        self.keepWorkspaces = keepWorkspaces
    }

    /// Builds (or finds) the warm template; call once before grading a batch. Returns seconds spent.
    @discardableResult
    public func prepare(log: (String) -> Void = { _ in }) throws(GradingError) -> Double {
        try warmBuild.prepare(log: log)
    }

    /// Grades a submission path (folder or archive). Bad input — an unreadable archive, unsafe entries,
    /// symlinks leaving the submission — throws one clear error; everything the student's code does is a result.
    public func grade(submission path: String) throws(GradingError) -> SubmissionReport {
        let job = try makeJobFolder()
        defer { removeJobFolder(job) }
        let files = try SubmissionIntake.collect(from: path, rubric: rubric, scratch: job)
        return try grade(files, job: job, extraHidden: [URL(fileURLWithPath: path).standardizedFileURL.path])
    }

    /// Grades student files already read (the self-check uses this for solutions and skeletons).
    public func grade(_ files: StudentFiles) throws(GradingError) -> SubmissionReport {
        let job = try makeJobFolder()
        defer { removeJobFolder(job) }
        return try grade(files, job: job, extraHidden: [])
    }

    /// Job folders in use, removed by `stopGradingNow()` when the grader is interrupted.
    static let activeJobs = Mutex<Set<String>>([])

    private func removeJobFolder(_ job: String) {
        // Removed before it leaves the set, so an interrupt never exits while this removal is half done.
        if !keepWorkspaces { try? FileManager.default.removeItem(atPath: job) }
        Grader.activeJobs.withLock { _ = $0.remove(job) }
    }

    private func makeJobFolder() throws(GradingError) -> String {
        let job = warmBuild.labCache + "/jobs/" + UUID().uuidString
        try Shutdown.check()
        Grader.activeJobs.withLock { _ = $0.insert(job) }
        do {
            try FileManager.default.createDirectory(atPath: job, withIntermediateDirectories: true)
        } catch {
            throw GradingError("\(job): cannot create a job folder: \(error.localizedDescription)")
        }
        return job
    }

    private func grade(_ files: StudentFiles, job: String, extraHidden: [String]) throws(GradingError) -> SubmissionReport {
        let started = Date()
        try prepare()
        let hidden = hiddenDirectories + extraHidden
        var report = SubmissionReport(
            submission: files.name, lab: rubric.lab, slug: rubric.slug, title: rubric.title, tests: [],
            compileErrors: nil, missingFiles: files.missing, ignoredFiles: files.ignored, enforcedLimits: [],
            buildSeconds: 0, totalSeconds: 0)

        // A fresh workspace: the warm template with the student's files swapped in.
        let workspace = job + "/workspace"
        try copyTree(warmBuild.templateFolder, to: workspace)
        let labFolder = workspace + "/Labs/" + rubric.slug
        for (relative, contents) in files.files {
            let destination = labFolder + "/" + relative
            let manager = FileManager.default
            try? manager.removeItem(atPath: destination)
            try? manager.createDirectory(atPath: (destination as NSString).deletingLastPathComponent,
                                         withIntermediateDirectories: true)
            guard manager.createFile(atPath: destination, contents: contents) else {
                throw GradingError("\(destination): cannot write the student's file into the workspace")
            }
        }

        let buildStarted = Date()
        let buildCommand = SandboxedCommand(
            arguments: [swiftExecutable(), "build", "--build-tests"], environment: warmBuild.buildEnvironment,
            workspace: workspace, workspaceReadOnly: false, scratch: nil, hiddenDirectories: hidden,
            isolateNetwork: true, limits: SandboxLimits(wallTime: 900))
        let build = try sandbox.run(buildCommand, name: "vlab-build-\(UUID().uuidString)")
        report.buildSeconds = Date().timeIntervalSince(buildStarted)
        guard build.termination == .exited(0) else {
            let log = build.result.standardOutput.text + "\n" + build.result.standardError.text
            let errors = CompilerDiagnostics.errors(
                in: log, workspace: sandbox.workspacePath(for: workspace), labFolder: "Labs/" + rubric.slug)
            report.compileErrors = errors
            report.tests = rubric.tests.map { test in
                RubricTestResult(
                    id: test.id, name: test.name, visibility: test.visibility, maxPoints: test.points, points: 0,
                    reason: .compileError,
                    message: "The submission does not compile, so no test could run. The compiler said:\n" + errors,
                    swiftTests: [:], seconds: 0, output: "", errorOutput: "")
            }
            report.enforcedLimits = sandbox.enforcedLimits(for: buildCommand)
            report.totalSeconds = Date().timeIntervalSince(started)
            return report
        }
        // The hidden tests' sources are not needed to run them, and student code must not be able to print them.
        try? FileManager.default.removeItem(atPath: workspace + "/Grader")

        for test in rubric.tests {
            let (result, limits) = try run(test, workspace: workspace, job: job, hidden: hidden)
            report.tests.append(result)
            if report.enforcedLimits.isEmpty { report.enforcedLimits = limits }
        }
        report.totalSeconds = Date().timeIntervalSince(started)
        return report
    }

    private func run(_ test: Rubric.Test, workspace: String, job: String,
                     hidden: [String]) throws(GradingError) -> (RubricTestResult, [String]) {
        let scratch = job + "/scratch-" + test.id
        let manager = FileManager.default
        do {
            try? manager.removeItem(atPath: scratch)
            for folder in ["tmp", "home", "events"] {
                try manager.createDirectory(atPath: scratch + "/" + folder, withIntermediateDirectories: true)
            }
        } catch {
            throw GradingError("\(scratch): cannot create the test's scratch folder")
        }
        let inside = sandbox.scratchPath(for: scratch)
        let bundle = sandbox.workspacePath(for: workspace) + "/" + warmBuild.testBundle
        var environment = [
            "PATH": "/usr/bin:/bin", "HOME": inside + "/home", "TMPDIR": inside + "/tmp", "LANG": "C.UTF-8",
            // The runtime's backtracer starts a helper process and takes seconds; a crash is reported without it.
            "SWIFT_BACKTRACE": "enable=no",
        ]
        if let libraryPath = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"] { environment["LD_LIBRARY_PATH"] = libraryPath }
        let command = SandboxedCommand(
            arguments: [bundle, "--testing-library", "swift-testing", "--filter", test.filter,
                        "--event-stream-output-path", inside + "/events/events.jsonl", "--event-stream-version", "0"],
            environment: environment, workspace: workspace, workspaceReadOnly: true, scratch: scratch,
            hiddenDirectories: hidden, isolateNetwork: true,
            limits: SandboxLimits(wallTime: test.timeout, memoryBytes: test.memoryBytes, maxProcesses: test.maxProcesses),
            profile: rubric.sandbox)
        let run = try sandbox.run(command, name: "vlab-test-\(UUID().uuidString)")
        let stream = TestEventStream(contentsOf: scratch + "/events/events.jsonl")
        let verdict = Verdict(Verdict.Evidence(
            stream: stream, termination: run.termination, stopReason: run.result.stopReason,
            oomKilled: run.oomKilled, processLimitHit: run.processLimitHit, test: test))
        let result = RubricTestResult(
            id: test.id, name: test.name, visibility: test.visibility, maxPoints: test.points,
            points: verdict.reason == nil ? test.points : 0, reason: verdict.reason, message: verdict.message,
            swiftTests: verdict.swiftTests, seconds: run.result.duration,
            output: run.result.standardOutput.text, errorOutput: run.result.standardError.text)
        return (result, sandbox.enforcedLimits(for: command))
    }
}

/// Whether `stopGradingNow()` was called: errors after it are consequences of the interrupt, not failures.
public var gradingWasInterrupted: Bool { Shutdown.requestedNow }

/// For an interrupted `vlab grade`: kills every sandboxed process and removes half-written report files.
public func stopGradingNow() {
    Shutdown.begin()
    ChildProcess.stopAll()
    AtomicFile.removeTemporaries()
    // A killed `cp` may still be writing for a moment: retry until the folders stay gone.
    for _ in 0..<40 {
        let jobs = Grader.activeJobs.withLock { $0 }.filter { FileManager.default.fileExists(atPath: $0) }
        if jobs.isEmpty { break }
        for job in jobs { try? FileManager.default.removeItem(atPath: job) }
        usleep(50_000)
    }
}

/// Set once the grader is interrupted: no new child, job folder or report is started after that.
enum Shutdown {
    private static let requested = Atomic<Bool>(false)

    static var requestedNow: Bool { requested.load(ordering: .sequentiallyConsistent) }

    static func begin() { requested.store(true, ordering: .sequentiallyConsistent) }

    static func check() throws(GradingError) {
        if requested.load(ordering: .sequentiallyConsistent) { throw GradingError("interrupted") }
    }
}
