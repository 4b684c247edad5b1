import Foundation

/// A lab's grading scheme, read from `Grader/Rubrics/NN-slug.yml`: which files a student hands in, and which
/// hidden tests earn how many points under which limits.
public struct Rubric: Equatable, Sendable, Codable {
    /// Who sees a test's result, in Gradescope's vocabulary.
    public enum Visibility: String, Equatable, Sendable, Codable, CaseIterable {
        case visible
        case hidden
        case afterDueDate = "after_due_date"
    }

    /// One graded unit: the Swift Testing tests its `filter` matches must all pass to earn `points`.
    public struct Test: Equatable, Sendable, Codable {
        /// Stable identifier used in reports and the class CSV.
        public var id: String
        /// What the student sees.
        public var name: String
        /// A regular expression over Swift Testing test IDs, passed to the test harness's `--filter`.
        public var filter: String
        public var points: Double
        public var visibility: Visibility
        /// Wall-time limit in seconds for the test's process.
        public var timeout: Double
        /// Memory limit in bytes for the test's process and everything it starts.
        public var memoryBytes: UInt64
        /// Process and thread count limit.
        public var maxProcesses: Int
    }

    /// The lab number as written in folder names, e.g. "01".
    public var lab: String
    /// The lab's folder name, e.g. "01-isa-interpreter".
    public var slug: String
    public var title: String
    /// Paths relative to the lab folder; only these files are taken from a submission.
    public var studentFiles: [String]
    public var tests: [Test]
    /// How much the tests may do in the grader's sandbox (`sandbox:`; default `standard`).
    public var sandbox: SandboxProfile = .standard

    public var totalPoints: Double { tests.reduce(0) { $0 + $1.points } }

    public static let defaultTimeout: Double = 60
    public static let defaultMemoryBytes: UInt64 = 2 << 30
    public static let defaultMaxProcesses = 128
}
