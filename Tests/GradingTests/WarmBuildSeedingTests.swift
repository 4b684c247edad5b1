import Foundation
import Testing
@testable import Grading

/// A lab's first template build starts from another lab's built template in the same cache, so a
/// course's second lab does not compile the whole package again (the self-check builds one per lab).
@Suite struct WarmBuildSeedingTests {
    static let namespaces = SandboxCapabilities.probe().namespaces != .unavailable

    @Test(.enabled(if: namespaces, "needs mount namespaces (root on Linux): templates share one sandbox path only then"),
          .timeLimit(.minutes(10)))
    func aNewTemplateStartsFromASiblingLabsBuild() throws {
        let root = Fixtures.temporaryFolder("seeding")
        defer { Fixtures.remove(root) }
        let coursePath = root + "/course", cache = root + "/cache"
        try Fixtures.run(["/bin/cp", "-a", Fixtures.miniCourse, coursePath])
        let course = try Course(root: coursePath)

        var firstLog: [String] = []
        try Grader(course: course, lab: "01", cacheRoot: cache).prepare { firstLog.append($0) }
        #expect(!firstLog.contains { $0.hasPrefix("Starting from") }, "nothing to start from in an empty cache: \(firstLog)")

        // The built template now plays another lab's; the lab's own cache entry is gone, as for a lab never prepared.
        try FileManager.default.moveItem(atPath: cache + "/01-mini-arithmetic", toPath: cache + "/00-sibling")
        var secondLog: [String] = []
        let grader = try Grader(course: course, lab: "01", cacheRoot: cache)
        try grader.prepare { secondLog.append($0) }
        #expect(secondLog.contains("Starting from the built template of 00-sibling"), "\(secondLog)")

        // The seeded template is a working one: the reference solution still gets every point.
        let solution = try SelfCheck.files(from: course.solutionFolder(try course.rubric(forLab: "01")),
                                           rubric: try course.rubric(forLab: "01"), name: "reference solution")
        let report = try grader.grade(solution)
        #expect(report.score == report.maxScore && report.maxScore > 0, "\(report.tests.map { ($0.id, $0.passed) })")
    }
}
