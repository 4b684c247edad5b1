import Foundation

/// A Swift Testing event stream (`--event-stream-output-path`, `--event-stream-version 0`): JSON lines of
/// test records (`"kind":"test"`) and events (`"kind":"event"`).
///
/// The grader trusts nothing but this stream for results. It is read tolerantly because it is exactly what a
/// crash cuts short: the last line may be partial and `runEnded` may never come, so a test with a
/// `testStarted` and no `testEnded` is one that was running when the process died.
public struct TestEventStream: Equatable, Sendable {
    public struct TestRecord: Equatable, Sendable {
        public var id: String
        public var name: String
        public var isSuite: Bool
    }

    public struct Issue: Equatable, Sendable {
        public var testID: String?
        /// The failure's text, e.g. `Expectation failed: (try multiply(6, 7) → 0) == 42`.
        public var message: String
        /// `File.swift:12` when known.
        public var location: String?
        /// The arguments of the parameterized test case that failed, when it was one.
        public var testCase: String?
    }

    public var tests: [String: TestRecord] = [:]
    /// Test IDs in the order they started.
    public var started: [String] = []
    public var ended: Set<String> = []
    /// Skipped test ID → the reason given, if any.
    public var skipped: [String: String] = [:]
    public var issues: [Issue] = []
    public var runStarted = false
    public var runEnded = false

    public init() {}

    public init(contentsOf path: String) {
        self.init(data: FileManager.default.contents(atPath: path) ?? Data())
    }

    public init(data: Data) {
        self.init()
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let kind = object["kind"] as? String, let payload = object["payload"] as? [String: Any] else {
                continue
            }
            if kind == "test" {
                guard let id = payload["id"] as? String else { continue }
                tests[id] = TestRecord(
                    id: id, name: payload["name"] as? String ?? id, isSuite: payload["kind"] as? String == "suite")
            } else if kind == "event" {
                record(event: payload)
            }
        }
    }

    private mutating func record(event: [String: Any]) {
        let testID = event["testID"] as? String
        let messages = (event["messages"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        switch event["kind"] as? String {
        case "runStarted": runStarted = true
        case "runEnded": runEnded = true
        case "testStarted": if let testID { started.append(testID) }
        case "testEnded": if let testID { ended.insert(testID) }
        case "testSkipped":
            if let testID { skipped[testID] = messages.first ?? "skipped" }
        case "issueRecorded":
            let issue = event["issue"] as? [String: Any] ?? [:]
            if issue["isKnown"] as? Bool == true { return }
            if let severity = issue["severity"] as? String, severity != "error" { return }
            if issue["isFailure"] as? Bool == false { return }
            var location: String?
            if let source = issue["sourceLocation"] as? [String: Any] ?? event["_sourceLocation"] as? [String: Any],
               let file = source["fileID"] as? String, let line = source["line"] as? Int {
                location = "\(file.split(separator: "/").last.map(String.init) ?? file):\(line)"
            }
            let testCase = (event["_testCase"] as? [String: Any])?["displayName"] as? String
            issues.append(Issue(testID: testID, message: messages.joined(separator: "\n"), location: location, testCase: testCase))
        default:
            break
        }
    }

    /// Test functions in the run (suites are containers, not results).
    public var functions: [TestRecord] { tests.values.filter { !$0.isSuite }.sorted { $0.id < $1.id } }

    /// Test functions that started and never ended: what was running when the process stopped.
    public var interrupted: [TestRecord] {
        let ids = started.filter { !ended.contains($0) }
        return ids.compactMap { tests[$0] }.filter { !$0.isSuite }
    }

    /// Readable name of a test ID: `MultiplicationTests/products()`.
    public func displayName(of id: String) -> String {
        let parts = id.split(separator: "/")
        let suite = parts.first.map { $0.split(separator: ".").last.map(String.init) ?? String($0) } ?? id
        guard let record = tests[id], !record.isSuite else { return suite }
        return "\(suite)/\(record.name)"
    }
}
