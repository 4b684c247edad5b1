import Foundation

/// Gradescope autograder `results.json`: the score, one entry per rubric test with its own visibility, and
/// feedback text. Student-printed output is never shown for hidden tests.
public enum GradescopeReport {
    public static func data(for report: SubmissionReport) -> Data {
        var tests: [[String: Any]] = []
        for (index, test) in report.tests.enumerated() {
            var output = test.passed ? "Passed." : test.message
            if !test.passed, test.visibility == .visible, !(test.output + test.errorOutput).isEmpty {
                output += "\n\nOutput (capped):\n" + JUnitReport.capped(test.output + test.errorOutput)
            }
            var entry: [String: Any] = [
                "name": test.name, "number": "\(index + 1)", "score": test.points, "max_score": test.maxPoints,
                "status": test.passed ? "passed" : "failed", "visibility": test.visibility.rawValue,
                "output": output, "output_format": "text",
            ]
            if let reason = test.reason { entry["tags"] = [reason.rawValue] }
            tests.append(entry)
        }
        var summary: [String] = []
        if let errors = report.compileErrors { summary.append("Your submission does not compile:\n" + errors) }
        if !report.missingFiles.isEmpty {
            summary.append("Missing (the skeleton's version was used): " + report.missingFiles.joined(separator: ", "))
        }
        if !report.ignoredFiles.isEmpty {
            summary.append("Ignored (only the lab's student files are graded): " + report.ignoredFiles.joined(separator: ", "))
        }
        let results: [String: Any] = [
            "score": report.score,
            "execution_time": Int(report.totalSeconds.rounded(.up)),
            "output": summary.joined(separator: "\n\n"),
            "output_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        ]
        return (try? JSONSerialization.data(withJSONObject: results, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
    }
}
