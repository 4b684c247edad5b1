import Foundation
import Testing

@testable import Containers

@Suite("Escape matrix", .enabled(if: Harness.canRunContainers, Comment(rawValue: Harness.skipMessage)))
struct EscapeTests {
    /// Parses `vlab container escape-test` output: name → escaped?
    func matrix(_ extra: [String], state: String) -> [String: Bool] {
        let result = Harness.run(["container", "escape-test", "--state-root", state, "--rootfs", Harness.rootfs] + extra)
        try? FileManager.default.removeItem(atPath: state)
        var verdicts: [String: Bool] = [:]
        for line in result.stdout.split(separator: "\n") {
            for marker in ["  ESCAPED  ", "  blocked  "] {
                if let range = line.range(of: marker) {
                    let name = line[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                    verdicts[name] = marker == "  ESCAPED  "
                }
            }
        }
        return verdicts
    }

    @Test("every attempt is blocked by default")
    func blockedByDefault() {
        let verdicts = matrix([], state: Harness.stateRoot("escape"))
        #expect(verdicts.count == 7, "\(verdicts)")
        for (name, escaped) in verdicts { #expect(!escaped, "\(name) escaped with default settings") }
    }

    @Test("the classic attempts succeed in the chroot teaching mode")
    func classicInTeachingMode() {
        let verdicts = matrix(["--teaching-mode", "chroot"], state: Harness.stateRoot("escape-teaching"))
        #expect(verdicts.count == 7, "\(verdicts)")
        for name in EscapeAttempt.classic { #expect(verdicts[name] == true, "\(name) did not escape the chroot jail") }
    }
}
