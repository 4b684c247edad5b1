import Foundation

/// Why a rubric test earned no points. The raw values are what reports and the class CSV show.
public enum FailureReason: String, Equatable, Sendable, Codable, CaseIterable {
    /// Tests ran to the end and at least one of them recorded an issue (or was skipped).
    case failed
    /// The wall-time limit was reached.
    case timeout
    /// The test process was killed by a signal (a Swift runtime trap, a segmentation fault, abort).
    case crash
    /// The kernel's OOM killer stopped the test at its memory limit.
    case oom
    /// The test process exited by itself in the middle of the run (e.g. `exit(0)` inside a test).
    case exitedEarly = "exited-early"
    /// A process-count or output limit was reached.
    case limit
    /// The submission did not compile: every test gets this reason.
    case compileError = "compile-error"
    /// The rubric's filter matched no test: a rubric bug, reported rather than counted as a pass.
    case noTests = "no-tests"
}

/// The result of one rubric test for one submission.
public struct RubricTestResult: Equatable, Sendable, Codable {
    public var id: String
    public var name: String
    public var visibility: Rubric.Visibility
    public var maxPoints: Double
    public var points: Double
    /// nil when the test passed.
    public var reason: FailureReason?
    /// For students: what went wrong and where to look. Empty when the test passed.
    public var message: String
    /// Swift Testing tests the filter matched, with "passed"/"failed"/... per test.
    public var swiftTests: [String: String]
    public var seconds: Double
    /// The test process's stdout and stderr, capped; printed by student code, so never parsed.
    public var output: String
    public var errorOutput: String

    public var passed: Bool { reason == nil }
}

/// The report for one submission of one lab.
public struct SubmissionReport: Equatable, Sendable, Codable {
    public var submission: String
    public var lab: String
    public var slug: String
    public var title: String
    public var tests: [RubricTestResult]
    /// The compiler's errors when the submission did not build.
    public var compileErrors: String?
    public var missingFiles: [String]
    public var ignoredFiles: [String]
    /// How each limit was enforced on this machine (or that it was not).
    public var enforcedLimits: [String]
    public var buildSeconds: Double
    public var totalSeconds: Double

    public var score: Double { tests.reduce(0) { $0 + $1.points } }
    public var maxScore: Double { tests.reduce(0) { $0 + $1.maxPoints } }
}
