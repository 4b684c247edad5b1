import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// JUnit XML for submission reports: `<testsuites>` with one `<testsuite>` per lab report and one `<testcase>`
/// per rubric test. Built with `XMLDocument`, never by string concatenation.
///
/// The shape is the intersection of the two schemas CI tools use: Jenkins xUnit's `junit-10.xsd` and the Ant
/// format's `JUnit.xsd`. The Ant schema fixes the most: `properties` first, then test cases, then `system-out`
/// and `system-err` (both required); a test case holds at most one `failure`/`error` and no output of its own,
/// so a test's capped output goes inside its failure text; suites inside `testsuites` need `package` and `id`;
/// `timestamp` has no time zone. Points go in the suite's properties (`points.<test id>` = `earned/max`).
public enum JUnitReport {
    /// Characters kept from one test's output inside its failure element.
    static let outputCap = 8 << 10

    public static func document(for reports: [SubmissionReport], timestamp: Date = Date(),
                                hostname: String = ProcessInfo.processInfo.hostName) -> XMLDocument {
        // The Ant schema allows no attributes on <testsuites>; readers total the suites themselves.
        let root = XMLElement(name: "testsuites")
        for (index, report) in reports.enumerated() {
            root.addChild(suite(for: report, id: index, timestamp: timestamp, hostname: hostname))
        }
        let document = XMLDocument(rootElement: root)
        document.version = "1.0"
        document.characterEncoding = "UTF-8"
        return document
    }

    public static func data(for reports: [SubmissionReport], timestamp: Date = Date()) -> Data {
        document(for: reports, timestamp: timestamp).xmlData(options: [.nodePrettyPrint])
    }

    static func suite(for report: SubmissionReport, id: Int, timestamp: Date, hostname: String) -> XMLElement {
        let suite = XMLElement(name: "testsuite")
        suite.addAttribute(name: "name", clean("Lab \(report.lab) \(report.title) — \(report.submission)"))
        suite.addAttribute(name: "package", "VirtLab.Lab\(report.lab)")
        suite.addAttribute(name: "id", "\(id)")
        suite.addAttribute(name: "timestamp", isoTimestamp(timestamp))
        suite.addAttribute(name: "hostname", hostname.isEmpty ? "localhost" : clean(hostname))
        suite.addAttribute(name: "tests", "\(report.tests.count)")
        suite.addAttribute(name: "failures", "\(report.tests.filter { $0.reason == .failed }.count)")
        suite.addAttribute(name: "errors", "\(report.tests.filter { $0.reason != nil && $0.reason != .failed }.count)")
        suite.addAttribute(name: "skipped", "0")
        suite.addAttribute(name: "time", seconds(report.tests.reduce(0) { $0 + $1.seconds }))

        let properties = XMLElement(name: "properties")
        func property(_ name: String, _ value: String) {
            let element = XMLElement(name: "property")
            element.addAttribute(name: "name", name)
            element.addAttribute(name: "value", clean(value))
            properties.addChild(element)
        }
        property("submission", report.submission)
        property("lab", report.slug)
        property("score", points(report.score))
        property("max_score", points(report.maxScore))
        for test in report.tests {
            property("points.\(test.id)", "\(points(test.points))/\(points(test.maxPoints))")
            property("visibility.\(test.id)", test.visibility.rawValue)
        }
        for (index, limit) in report.enforcedLimits.enumerated() { property("limit.\(index + 1)", limit) }
        if !report.missingFiles.isEmpty { property("missing_files", report.missingFiles.joined(separator: ", ")) }
        if !report.ignoredFiles.isEmpty { property("ignored_files", report.ignoredFiles.joined(separator: ", ")) }
        property("build_seconds", seconds(report.buildSeconds))
        suite.addChild(properties)

        for test in report.tests {
            let testcase = XMLElement(name: "testcase")
            testcase.addAttribute(name: "name", clean("\(test.id): \(test.name)"))
            testcase.addAttribute(name: "classname", "VirtLab.Lab\(report.lab).\(test.id)")
            testcase.addAttribute(name: "time", seconds(test.seconds))
            if let reason = test.reason {
                let element = XMLElement(name: reason == .failed ? "failure" : "error")
                element.addAttribute(name: "type", reason.rawValue)
                element.addAttribute(name: "message", clean(test.message.split(separator: "\n").first.map(String.init) ?? reason.rawValue))
                var text = test.message
                let output = (test.output + test.errorOutput).trimmingCharacters(in: .whitespacesAndNewlines)
                if !output.isEmpty {
                    text += "\n\n--- output of the test process (printed by the submission; capped) ---\n" + capped(output)
                }
                element.stringValue = clean(text)
                testcase.addChild(element)
            }
            suite.addChild(testcase)
        }

        var summary = TerminalTable.render(report)
        for test in report.tests where test.reason == nil && !(test.output + test.errorOutput).isEmpty {
            summary += "\n--- output of \(test.id) (capped) ---\n" + capped(test.output + test.errorOutput)
        }
        let systemOut = XMLElement(name: "system-out")
        systemOut.stringValue = clean(summary)
        suite.addChild(systemOut)
        let systemErr = XMLElement(name: "system-err")
        systemErr.stringValue = clean(report.compileErrors ?? "")
        suite.addChild(systemErr)
        return suite
    }

    static func capped(_ text: String) -> String {
        guard text.utf8.count > outputCap else { return text }
        let head = String(decoding: Array(text.utf8.prefix(outputCap)), as: UTF8.self)
        return head + "\n[… output truncated at \(outputCap) bytes]"
    }

    /// Replaces characters XML 1.0 forbids (most control characters, lone surrogates, U+FFFE/U+FFFF) with
    /// a visible `\u{…}` so the report still says something was there.
    public static func clean(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let allowed = value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
                || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
            if allowed {
                result.append(scalar)
            } else {
                result.append(contentsOf: "\\u{\(String(value, radix: 16))}".unicodeScalars)
            }
        }
        return String(result)
    }

    /// At most three decimals, as both schemas' time types allow.
    static func seconds(_ value: Double) -> String {
        String(format: "%.3f", max(0, value.isFinite ? value : 0))
    }

    /// Points as people write them: `10`, `7.50`.
    public static func points(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : String(format: "%.2f", value)
    }

    static func isoTimestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }
}

extension XMLElement {
    fileprivate func addAttribute(name: String, _ value: String) {
        let attribute = XMLNode(kind: .attribute)
        attribute.name = name
        attribute.stringValue = value
        addAttribute(attribute)
    }
}
