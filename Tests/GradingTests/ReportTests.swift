import Foundation
import Testing
@testable import Grading

@Suite struct ReportTests {
    static func result(_ id: String, _ reason: FailureReason?, points: Double = 10, output: String = "",
                       visibility: Rubric.Visibility = .visible, seconds: Double = 1.23456) -> RubricTestResult {
        RubricTestResult(
            id: id, name: "Test \(id) <&> \"quoted\"", visibility: visibility, maxPoints: points,
            points: reason == nil ? points : 0, reason: reason,
            message: reason == nil ? "" : "It failed: expected 42, got 13.\nSecond line.", swiftTests: [:],
            seconds: seconds, output: output, errorOutput: reason == .crash ? "Fatal error: boom\u{0}" : "")
    }

    /// Two submissions: every reason, hostile output (control characters, U+FFFE, CDATA terminators,
    /// ANSI escapes), 100 KB of output, and a compile error.
    static let reports: [SubmissionReport] = {
        let hostile = "✔ passed \u{1B}[32mgreen\u{1B}[0m \u{0}\u{7}\u{8}\u{FFFE} ]]> <testsuite> & 'x'\n"
            + String(repeating: "spam ", count: 20_000)
        var graded = SubmissionReport(
            submission: "alice.zip", lab: "01", slug: "01-mini-arithmetic", title: "Integer arithmetic",
            tests: [result("passes", nil, output: hostile), result("fails", .failed, output: hostile),
                    result("hangs", .timeout), result("crashes", .crash), result("bombs", .oom, visibility: .hidden),
                    result("exits", .exitedEarly), result("forks", .limit, points: 2.5, visibility: .afterDueDate)],
            compileErrors: nil, missingFiles: [], ignoredFiles: ["Package.swift", "notes/a,b.txt"],
            enforcedLimits: ["wall time 8 s: SIGKILL", "memory 256 MiB: cgroup v1"], buildSeconds: 3.14159,
            totalSeconds: 12.5)
        graded.tests[0].seconds = 1234.56789
        let broken = SubmissionReport(
            submission: "=HYPERLINK(\"x\")", lab: "01", slug: "01-mini-arithmetic", title: "Integer arithmetic",
            tests: [result("passes", .compileError), result("fails", .compileError)],
            compileErrors: "Sources/Lab01/Arithmetic.swift:5:20: error: cannot find 'undefinedName' in scope",
            missingFiles: ["Sources/Lab01/Other.swift"], ignoredFiles: [], enforcedLimits: [], buildSeconds: 1,
            totalSeconds: 2)
        return [graded, broken]
    }()

    static func writeJUnit() throws -> (folder: String, file: String) {
        let folder = Fixtures.temporaryFolder("junit")
        let file = folder + "/junit.xml"
        try AtomicFile.write(JUnitReport.data(for: reports, timestamp: Date(timeIntervalSince1970: 1_795_636_731)), to: file)
        return (folder, file)
    }

    @Test(.enabled(if: Fixtures.haveSchemasAndXmllint, "xmllint or ../shared/schemas missing (CI installs libxml2-utils)"),
          arguments: ["jenkins-junit-10.xsd", "windyroad-JUnit.xsd"])
    func theJUnitXMLValidatesAgainstTheSchema(schema: String) throws {
        let (folder, file) = try Self.writeJUnit()
        defer { Fixtures.remove(folder) }
        let (status, output) = try Fixtures.run([Sandbox.findExecutable("xmllint") ?? "xmllint", "--noout", "--schema", Fixtures.schemas + "/" + schema, file])
        #expect(status == .exited(0), "\(output)")
        #expect(output.contains("validates"))
    }

    @Test(.enabled(if: Fixtures.haveJunitparser, "junitparser is not installed (pip install junitparser)"))
    func junitparserReadsTheRightCounts() throws {
        let (folder, file) = try Self.writeJUnit()
        defer { Fixtures.remove(folder) }
        let script = """
            import sys, json
            from junitparser import JUnitXml, Failure, Error, Skipped
            xml = JUnitXml.fromfile(sys.argv[1])
            out = []
            for suite in xml:
                cases = list(suite)
                props = {p.name: p.value for p in suite.properties()}
                out.append({
                    "name": suite.name, "tests": suite.tests, "failures": suite.failures, "errors": suite.errors,
                    "cases": len(cases),
                    "failed_cases": sum(1 for c in cases for r in c.result if isinstance(r, Failure)),
                    "error_cases": sum(1 for c in cases for r in c.result if isinstance(r, Error)),
                    "passed_cases": sum(1 for c in cases if c.is_passed),
                    "types": sorted(r.type for c in cases for r in c.result),
                    "score": props.get("score"), "forks": props.get("points.forks"),
                })
            print(json.dumps(out))
            """
        let (status, output) = try Fixtures.python(script, [file])
        #expect(status == .exited(0), "\(output)")
        let suites = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
        #expect(suites.count == 2)
        guard suites.count == 2 else { return }
        #expect(suites[0]["tests"] as? Int == 7)
        #expect(suites[0]["cases"] as? Int == 7)
        #expect(suites[0]["failures"] as? Int == 1)
        #expect(suites[0]["errors"] as? Int == 5)
        #expect(suites[0]["failed_cases"] as? Int == 1)
        #expect(suites[0]["error_cases"] as? Int == 5)
        #expect(suites[0]["passed_cases"] as? Int == 1)
        #expect(suites[0]["types"] as? [String] == ["crash", "exited-early", "failed", "limit", "oom", "timeout"])
        #expect(suites[0]["score"] as? String == "10")
        #expect(suites[0]["forks"] as? String == "0/2.50")
        #expect(suites[1]["tests"] as? Int == 2)
        #expect(suites[1]["errors"] as? Int == 2)
        #expect(suites[1]["types"] as? [String] == ["compile-error", "compile-error"])
    }

    @Test func timesHaveAtMostThreeDecimalsAndOutputIsCappedAndClean() throws {
        let (folder, file) = try Self.writeJUnit()
        defer { Fixtures.remove(folder) }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let times = try Regex(#"time="([^"]*)""#)
        let values = text.matches(of: times).map { String($0.output[1].substring ?? "") }
        #expect(values.contains("1234.568"))
        #expect(values.allSatisfy { $0.wholeMatch(of: try! Regex(#"[0-9]+\.[0-9]{3}"#)) != nil }, "\(values)")
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" })
        #expect(text.contains("\\u{1b}[32mgreen"))
        #expect(text.contains("\\u{fffe}"))
        #expect(text.utf8.count < 60_000, "100 KB of output per test must be capped")
        #expect(text.contains("[… output truncated at 8192 bytes]"))
        // Parses back as XML.
        _ = try XMLDocumentCompat.parse(Data(text.utf8))
    }

    @Test func gradescopeResultsCarryScoresVisibilityAndReasons() throws {
        let data = GradescopeReport.data(for: Self.reports[0])
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["score"] as? Double == 10)
        let tests = try #require(json["tests"] as? [[String: Any]])
        #expect(tests.count == 7)
        #expect(tests[0]["status"] as? String == "passed")
        #expect(tests[1]["status"] as? String == "failed")
        #expect(tests[1]["tags"] as? [String] == ["failed"])
        #expect((tests[1]["output"] as? String)?.contains("expected 42, got 13") == true)
        #expect(tests[4]["visibility"] as? String == "hidden")
        #expect(tests[6]["visibility"] as? String == "after_due_date")
        #expect(tests[6]["max_score"] as? Double == 2.5)
        #expect((json["output"] as? String)?.contains("Ignored (only the lab's student files are graded): Package.swift") == true)
        let broken = try #require(try JSONSerialization.jsonObject(with: GradescopeReport.data(for: Self.reports[1])) as? [String: Any])
        #expect((broken["output"] as? String)?.contains("cannot find 'undefinedName'") == true)
        #expect(broken["score"] as? Double == 0)
    }

    @Test func theClassCSVQuotesAndDefusesFormulas() throws {
        let rubric = try Course(root: Fixtures.miniCourse).rubric(forLab: "01")
        var report = Self.reports[0]
        report.tests = [Self.result("addition", nil), Self.result("multiplication", .timeout), Self.result("division", nil, points: 5)]
        let rows = [ClassRow(submission: "bob, jr", report: report, rejection: nil),
                    ClassRow(submission: "=cmd()", report: nil, rejection: "x.zip: entry \"/etc\" has an absolute path")]
        let csv = ClassRoster.csv(rows: rows, rubric: rubric)
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines[0] == "submission,score,max_score,status,addition,multiplication,division,addition.reason,multiplication.reason,division.reason")
        #expect(lines[1] == "'=cmd(),0,25,\"rejected: x.zip: entry \"\"/etc\"\" has an absolute path\",0,0,0,rejected,rejected,rejected")
        #expect(lines[2] == "\"bob, jr\",15,25,graded,10,0,5,passed,timeout,passed")
    }

    @Test func theTerminalTableShowsTheScore() {
        let table = TerminalTable.render(Self.reports[0])
        #expect(table.contains("score 10/62.50 (16%)"))
        #expect(table.contains("hangs    0/10    timeout"))
        #expect(table.contains("ignored: Package.swift, notes/a,b.txt"))
    }

    @Test func atomicWritesLeaveNoPartialFile() throws {
        let folder = Fixtures.temporaryFolder("atomic")
        defer { Fixtures.remove(folder) }
        try AtomicFile.write("first", to: folder + "/report.json")
        try AtomicFile.write("second", to: folder + "/report.json")
        #expect(try String(contentsOfFile: folder + "/report.json", encoding: .utf8) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["report.json"])
        // A destination that cannot be created fails with one line and leaves nothing.
        _ = FileManager.default.createFile(atPath: folder + "/file", contents: Data())
        let error = #expect(throws: GradingError.self) { try AtomicFile.write("x", to: folder + "/file/report.json") }
        #expect(error?.message.hasPrefix(folder + "/file/report.json: ") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["file", "report.json"])
    }
}
