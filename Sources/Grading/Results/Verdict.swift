import Foundation

/// Turns what is known about one test process — its event stream, how it ended and what the kernel counted —
/// into a rubric test's verdict. Pure, so each typed reason is tested without running anything.
public struct Verdict: Equatable, Sendable {
    public var reason: FailureReason?
    public var message: String
    public var swiftTests: [String: String]

    public struct Evidence: Sendable {
        public var stream: TestEventStream
        public var termination: ProcessTermination
        public var stopReason: StopReason?
        public var oomKilled: Bool
        public var processLimitHit: Bool
        public var test: Rubric.Test

        public init(stream: TestEventStream, termination: ProcessTermination, stopReason: StopReason?,
                    oomKilled: Bool, processLimitHit: Bool, test: Rubric.Test) {
            self.stream = stream
            self.termination = termination
            self.stopReason = stopReason
            self.oomKilled = oomKilled
            self.processLimitHit = processLimitHit
            self.test = test
        }
    }

    public init(reason: FailureReason?, message: String, swiftTests: [String: String]) {
        self.reason = reason
        self.message = message
        self.swiftTests = swiftTests
    }

    public init(_ evidence: Evidence) {
        let stream = evidence.stream
        let test = evidence.test
        var statuses: [String: String] = [:]
        let failedIDs = Set(stream.issues.compactMap(\.testID))
        for function in stream.functions {
            let name = stream.displayName(of: function.id)
            if stream.skipped[function.id] != nil {
                statuses[name] = "skipped"
            } else if failedIDs.contains(function.id) {
                statuses[name] = "failed"
            } else if stream.ended.contains(function.id) {
                statuses[name] = "passed"
            } else if stream.started.contains(function.id) {
                statuses[name] = "interrupted"
            } else {
                statuses[name] = "not run"
            }
        }
        let running = stream.interrupted.map { stream.displayName(of: $0.id) }
        let during = running.isEmpty ? "" : " while \(running.joined(separator: ", ")) \(running.count == 1 ? "was" : "were") running"

        // The kernel's counters and the grader's own stops come first: they explain a SIGKILL.
        if evidence.oomKilled {
            self.init(reason: .oom, message: """
                The test used more than its memory limit of \(MemorySize.describe(test.memoryBytes)) and the kernel \
                stopped it (out of memory)\(during). Look for data that grows without bound: an array appended to \
                in a loop that never ends, or a cache that is never emptied.
                """, swiftTests: statuses)
        } else if evidence.processLimitHit {
            self.init(reason: .limit, message: """
                The test tried to start more than \(test.maxProcesses) processes or threads\(during), and the \
                grader stopped it. Lab code should not start processes.
                """, swiftTests: statuses)
        } else if evidence.stopReason == .timeout {
            self.init(reason: .timeout, message: """
                The test did not finish within its time limit of \(formatSeconds(test.timeout))\(during). Look for a \
                loop whose exit condition is never met (a pc that never advances, a branch to itself, a missing \
                halt check).
                """, swiftTests: statuses)
        } else if case .outputLimit(let bytes)? = evidence.stopReason {
            self.init(reason: .limit, message: """
                The test printed more than \(bytes >> 20) MiB\(during), and the grader stopped it. Remove debugging \
                output from loops.
                """, swiftTests: statuses)
        } else if case .monitor(let why)? = evidence.stopReason {
            self.init(reason: .limit, message: "The grader stopped the test: \(why)\(during).", swiftTests: statuses)
        } else if !stream.runEnded {
            // The stream was cut short: the process died or left in the middle of the run.
            if case .signaled(let signal) = evidence.termination {
                self.init(reason: .crash, message: """
                    The test process crashed with \(Verdict.describe(signal: signal))\(during). \
                    \(Verdict.advice(signal: signal))
                    """, swiftTests: statuses)
            } else {
                let status: String
                if case .exited(let code) = evidence.termination { status = "status \(code)" } else { status = "?" }
                self.init(reason: .exitedEarly, message: """
                    The test process exited by itself with \(status) before the tests finished\(during). \
                    Lab code must not call exit(), abort the process or close standard streams.
                    """, swiftTests: statuses)
            }
        } else if stream.functions.isEmpty {
            self.init(reason: .noTests, message: """
                No test matched the rubric's filter \"\(test.filter)\". This is a problem with the rubric, not with \
                the submission: tell your instructor.
                """, swiftTests: statuses)
        } else if !failedIDs.isEmpty || statuses.values.contains(where: { $0 != "passed" }) {
            var lines: [String] = []
            for issue in stream.issues.prefix(10) {
                let where_ = [issue.testID.map { stream.displayName(of: $0) }, issue.location].compactMap { $0 }
                var line = where_.isEmpty ? "" : "\(where_.joined(separator: " at ")): "
                if let testCase = issue.testCase { line += "[arguments \(testCase)] " }
                lines.append(line + issue.message)
            }
            if stream.issues.count > 10 { lines.append("… and \(stream.issues.count - 10) more failures") }
            for (id, why) in stream.skipped.sorted(by: { $0.key < $1.key }) where stream.tests[id]?.isSuite == false {
                lines.append("\(stream.displayName(of: id)) was skipped: \(why)")
            }
            let failedCount = statuses.values.filter { $0 != "passed" }.count
            self.init(reason: .failed, message: "\(failedCount) of \(statuses.count) checks failed.\n"
                      + lines.joined(separator: "\n"), swiftTests: statuses)
        } else {
            self.init(reason: nil, message: "", swiftTests: statuses)
        }
    }

    static func describe(signal: Int32) -> String {
        switch signal {
        case 4: "SIGILL (a Swift runtime trap)"
        case 5: "SIGTRAP (a Swift runtime trap)"
        case 6: "SIGABRT (abort)"
        case 7: "SIGBUS (a bad memory access)"
        case 8: "SIGFPE (an arithmetic fault)"
        case 9: "SIGKILL"
        case 11: "SIGSEGV (a segmentation fault: an invalid memory access)"
        default: "signal \(signal)"
        }
    }

    static func advice(signal: Int32) -> String {
        switch signal {
        case 4, 5:
            "Swift stops a program this way on fatalError(), a force-unwrapped nil, an array index out of range, "
                + "or arithmetic overflow (use &+ and &- for wrapping RISC-V arithmetic)."
        case 11, 7:
            "Check unsafe pointer code and recursion depth (a stack overflow also ends like this)."
        default:
            "Run the public tests locally to reproduce it."
        }
    }
}
