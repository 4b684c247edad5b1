import Foundation
import Testing
@testable import Grading

/// Event streams in Swift Testing's version-0 JSON-lines format, as written by Swift 6.3.1 (shapes taken
/// from real runs of the fixture's hidden tests, trimmed to the fields the grader reads).
@Suite struct EventStreamTests {
    static let suite = #"{"kind":"test","payload":{"id":"Lab01HiddenTests.MultiplicationTests","kind":"suite","name":"MultiplicationTests"},"version":0}"#
    static let function = #"{"kind":"test","payload":{"id":"Lab01HiddenTests.MultiplicationTests/products()/HiddenTests.swift:14:6","kind":"function","name":"products()"},"version":0}"#
    static let second = #"{"kind":"test","payload":{"id":"Lab01HiddenTests.MultiplicationTests/zero()/HiddenTests.swift:20:6","kind":"function","name":"zero()"},"version":0}"#
    static func event(_ kind: String, _ testID: String? = nil, extra: String = "") -> String {
        let id = testID.map { #","testID":"\#($0)""# } ?? ""
        return #"{"kind":"event","payload":{"instant":{"absolute":1.5,"since1970":1795636731.8},"kind":"\#(kind)","messages":[{"symbol":"default","text":"\#(kind) text"}]\#(id)\#(extra)},"version":0}"#
    }
    static let products = "Lab01HiddenTests.MultiplicationTests/products()/HiddenTests.swift:14:6"
    static let zero = "Lab01HiddenTests.MultiplicationTests/zero()/HiddenTests.swift:20:6"
    static let issue = #"{"kind":"event","payload":{"instant":{"absolute":2.0,"since1970":1795636741.6},"issue":{"isKnown":false,"sourceLocation":{"_filePath":"/tmp/vlab-grade/workspace/Grader/HiddenTests/x/HiddenTests.swift","column":9,"fileID":"Lab01HiddenTests/HiddenTests.swift","line":15}},"kind":"issueRecorded","messages":[{"symbol":"fail","text":"Expectation failed: (try multiply(6, 7) → 13) == 42"}],"testID":"Lab01HiddenTests.MultiplicationTests/products()/HiddenTests.swift:14:6"},"version":0}"#

    static func stream(_ lines: [String]) -> TestEventStream {
        TestEventStream(data: Data(lines.joined(separator: "\n").utf8))
    }

    static let multiplication = Rubric.Test(
        id: "multiplication", name: "Multiplication", filter: "Lab01HiddenTests.MultiplicationTests", points: 10,
        visibility: .hidden, timeout: 8, memoryBytes: 256 << 20, maxProcesses: 128)

    static func verdict(_ stream: TestEventStream, _ termination: ProcessTermination, stop: StopReason? = nil,
                        oom: Bool = false, forks: Bool = false) -> Verdict {
        Verdict(.init(stream: stream, termination: termination, stopReason: stop, oomKilled: oom,
                      processLimitHit: forks, test: multiplication))
    }

    static let header = [suite, function, second, event("runStarted"), event("testStarted", "Lab01HiddenTests.MultiplicationTests")]

    @Test func aCompleteRunThatPassed() {
        let stream = Self.stream(Self.header + [
            Self.event("testStarted", Self.products), Self.event("testEnded", Self.products),
            Self.event("testStarted", Self.zero), Self.event("testEnded", Self.zero),
            Self.event("testEnded", "Lab01HiddenTests.MultiplicationTests"), Self.event("runEnded"),
        ])
        #expect(stream.runEnded)
        #expect(stream.functions.map(\.name) == ["products()", "zero()"])
        #expect(stream.interrupted.isEmpty)
        let verdict = Self.verdict(stream, .exited(0))
        #expect(verdict.reason == nil)
        #expect(verdict.swiftTests == ["MultiplicationTests/products()": "passed", "MultiplicationTests/zero()": "passed"])
    }

    @Test func aFailureCarriesTheExpectationAndLocation() {
        let stream = Self.stream(Self.header + [
            Self.event("testStarted", Self.products), Self.issue, Self.event("testEnded", Self.products),
            Self.event("testStarted", Self.zero), Self.event("testEnded", Self.zero), Self.event("runEnded"),
        ])
        #expect(stream.issues.count == 1)
        #expect(stream.issues[0].location == "HiddenTests.swift:15")
        let verdict = Self.verdict(stream, .exited(1))
        #expect(verdict.reason == .failed)
        #expect(verdict.message.contains("1 of 2 checks failed"))
        #expect(verdict.message.contains("MultiplicationTests/products() at HiddenTests.swift:15: Expectation failed: (try multiply(6, 7) → 13) == 42"))
        #expect(verdict.swiftTests["MultiplicationTests/zero()"] == "passed")
    }

    @Test func knownIssuesAndWarningsDoNotFail() {
        let known = Self.issue.replacingOccurrences(of: #""isKnown":false"#, with: #""isKnown":true"#)
        let warning = Self.issue.replacingOccurrences(of: #""isKnown":false"#, with: #""isKnown":false,"severity":"warning""#)
        let stream = Self.stream(Self.header + [
            Self.event("testStarted", Self.products), known, warning, Self.event("testEnded", Self.products),
            Self.event("testStarted", Self.zero), Self.event("testEnded", Self.zero), Self.event("runEnded"),
        ])
        #expect(stream.issues.isEmpty)
        #expect(Self.verdict(stream, .exited(0)).reason == nil)
    }

    /// What a crash leaves: a started test, no end, no runEnded, and a last line cut in half.
    @Test func aStartedTestWithNoEndIsACrashWhenASignalEndedTheProcess() {
        let cut = String(Self.event("testEnded", Self.zero).prefix(40))
        let stream = Self.stream(Self.header + [
            Self.event("testStarted", Self.zero), Self.event("testEnded", Self.zero),
            Self.event("testStarted", Self.products), cut,
        ])
        #expect(!stream.runEnded)
        #expect(stream.interrupted.map(\.name) == ["products()"])
        let verdict = Self.verdict(stream, .signaled(4))
        #expect(verdict.reason == .crash)
        #expect(verdict.message.contains("SIGILL"))
        #expect(verdict.message.contains("while MultiplicationTests/products() was running"))
        #expect(verdict.message.contains("fatalError"))
        #expect(verdict.swiftTests == ["MultiplicationTests/products()": "interrupted", "MultiplicationTests/zero()": "passed"])
        #expect(Self.verdict(stream, .signaled(11)).message.contains("SIGSEGV"))
    }

    @Test func aCleanExitInTheMiddleIsExitedEarlyNotAPass() {
        let stream = Self.stream(Self.header + [Self.event("testStarted", Self.products)])
        let verdict = Self.verdict(stream, .exited(0))
        #expect(verdict.reason == .exitedEarly)
        #expect(verdict.message.contains("status 0"))
        // Before any test started (e.g. exit in a static initializer) is the same.
        #expect(Self.verdict(Self.stream([Self.suite, Self.function]), .exited(0)).reason == .exitedEarly)
        // And no stream at all.
        #expect(Self.verdict(TestEventStream(), .exited(0)).reason == .exitedEarly)
    }

    @Test func theKernelsCountersAndTheGradersStopsComeFirst() {
        let running = Self.stream(Self.header + [Self.event("testStarted", Self.products)])
        #expect(Self.verdict(running, .signaled(9), oom: true).reason == .oom)
        #expect(Self.verdict(running, .signaled(9), oom: true).message.contains("256 MiB"))
        #expect(Self.verdict(running, .signaled(9), forks: true).reason == .limit)
        #expect(Self.verdict(running, .signaled(9), stop: .timeout).reason == .timeout)
        #expect(Self.verdict(running, .signaled(9), stop: .timeout).message.contains("8 s"))
        #expect(Self.verdict(running, .signaled(9), stop: .outputLimit(32 << 20)).reason == .limit)
        #expect(Self.verdict(running, .signaled(9), stop: .outputLimit(32 << 20)).message.contains("32 MiB"))
    }

    @Test func aFilterMatchingNothingIsARubricProblem() {
        let stream = Self.stream([Self.event("runStarted"), Self.event("runEnded")])
        let verdict = Self.verdict(stream, .exited(0))
        #expect(verdict.reason == .noTests)
        #expect(verdict.message.contains("Lab01HiddenTests.MultiplicationTests"))
    }

    @Test func skippedTestsDoNotEarnPoints() {
        let stream = Self.stream(Self.header + [
            Self.event("testSkipped", Self.products), Self.event("testStarted", Self.zero),
            Self.event("testEnded", Self.zero), Self.event("runEnded"),
        ])
        let verdict = Self.verdict(stream, .exited(0))
        #expect(verdict.reason == .failed)
        #expect(verdict.message.contains("was skipped"))
    }

    @Test func printedTextThatLooksLikeEventsIsNotAStream() {
        // Only the file the harness writes is read; lines without a payload or of other kinds are ignored.
        let stream = Self.stream(["✔ Test products() passed", "<testsuite tests=\"1\" failures=\"0\"/>", "{\"kind\":\"event\"}"])
        #expect(!stream.runEnded)
        #expect(stream.functions.isEmpty)
    }
}
