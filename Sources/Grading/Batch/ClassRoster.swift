import Foundation

/// One line of the class CSV: a graded submission, or one rejected as bad input.
public struct ClassRow: Equatable, Sendable, Codable {
    public var submission: String
    public var report: SubmissionReport?
    /// The one-line reason a submission could not be graded at all (bad archive, symlink escaping, …).
    public var rejection: String?

    public init(submission: String, report: SubmissionReport?, rejection: String?) {
        self.submission = submission
        self.report = report
        self.rejection = rejection
    }
}

/// The class CSV: one row per submission, the score, then each rubric test's points and reason.
public enum ClassRoster {
    public static func csv(rows: [ClassRow], rubric: Rubric) -> String {
        var header = ["submission", "score", "max_score", "status"]
        header += rubric.tests.map { "\($0.id)" }
        header += rubric.tests.map { "\($0.id).reason" }
        var lines = [header.map(field).joined(separator: ",")]
        for row in rows.sorted(by: { $0.submission < $1.submission }) {
            var cells = [row.submission]
            if let report = row.report {
                let status = report.compileErrors != nil ? "compile-error" : "graded"
                cells += [JUnitReport.points(report.score), JUnitReport.points(report.maxScore), status]
                cells += rubric.tests.map { test in
                    report.tests.first { $0.id == test.id }.map { JUnitReport.points($0.points) } ?? "0"
                }
                cells += rubric.tests.map { test in
                    report.tests.first { $0.id == test.id }.map { $0.reason?.rawValue ?? "passed" } ?? "missing"
                }
            } else {
                cells += ["0", JUnitReport.points(rubric.totalPoints), "rejected: " + (row.rejection ?? "")]
                cells += rubric.tests.map { _ in "0" }
                cells += rubric.tests.map { _ in "rejected" }
            }
            lines.append(cells.map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not run a
    /// student-chosen file name as a formula.
    static func field(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+-@".contains(first), Double(text) == nil { text = "'" + text }
        guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
