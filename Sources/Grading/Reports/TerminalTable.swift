import Foundation

/// The score table `vlab grade` prints.
public enum TerminalTable {
    public static func render(_ report: SubmissionReport) -> String {
        var rows: [[String]] = [["test", "points", "result"]]
        for test in report.tests {
            rows.append([test.id, "\(JUnitReport.points(test.points))/\(JUnitReport.points(test.maxPoints))",
                         test.reason?.rawValue ?? "passed"])
        }
        let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var lines = ["Lab \(report.lab) — \(report.title) — \(report.submission)", line(rows[0]),
                     widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines += rows.dropFirst().map(line)
        let percent = report.maxScore > 0 ? report.score / report.maxScore * 100 : 0
        lines.append("score \(JUnitReport.points(report.score))/\(JUnitReport.points(report.maxScore)) (\(String(format: "%.0f", percent))%)")
        if let errors = report.compileErrors {
            lines.append("compile errors:")
            lines += errors.split(separator: "\n").prefix(10).map { "  " + $0 }
        }
        if !report.missingFiles.isEmpty { lines.append("missing: " + report.missingFiles.joined(separator: ", ")) }
        if !report.ignoredFiles.isEmpty {
            let shown = report.ignoredFiles.prefix(8).joined(separator: ", ")
            lines.append("ignored: " + shown + (report.ignoredFiles.count > 8 ? ", … (\(report.ignoredFiles.count) in all)" : ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
