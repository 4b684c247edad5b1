import Foundation

/// The grader's self-check: every reference solution must score 100% and every skeleton 0%.
public struct SelfCheck: Sendable {
    public struct LabResult: Sendable {
        public var rubric: Rubric
        public var solution: SubmissionReport
        public var skeleton: SubmissionReport
        /// Empty when the lab passed its self-check.
        public var problems: [String]
    }

    public static func run(course: Course, labs: [String]? = nil, cacheRoot: String? = nil,
                           capabilities: SandboxCapabilities = .probe(),
                           log: (String) -> Void = { _ in }) throws(GradingError) -> [LabResult] {
        let rubrics: [Rubric]
        if let labs {
            var selected: [Rubric] = []
            for lab in labs { selected.append(try course.rubric(forLab: lab)) }
            rubrics = selected
        } else {
            rubrics = try course.allRubrics()
        }
        guard !rubrics.isEmpty else { throw GradingError("\(course.rubricsFolder): no rubrics to check") }
        var results: [LabResult] = []
        for rubric in rubrics {
            let grader = try Grader(course: course, lab: rubric.slug, cacheRoot: cacheRoot, capabilities: capabilities)
            try grader.prepare(log: log)
            let solution = try grader.grade(try files(from: course.solutionFolder(rubric), rubric: rubric, name: "reference solution"))
            let skeleton = try grader.grade(try files(from: course.labFolder(rubric), rubric: rubric, name: "skeleton"))
            var problems: [String] = []
            for test in solution.tests where !test.passed {
                problems.append("lab \(rubric.lab): the reference solution fails \(test.id) (\(test.reason?.rawValue ?? "")): "
                                + (test.message.split(separator: "\n").first.map(String.init) ?? ""))
            }
            for test in skeleton.tests where test.passed {
                problems.append("lab \(rubric.lab): the skeleton passes \(test.id); a hidden test that an empty skeleton passes grades nothing")
            }
            log("lab \(rubric.lab): solution \(JUnitReport.points(solution.score))/\(JUnitReport.points(solution.maxScore)), "
                + "skeleton \(JUnitReport.points(skeleton.score))/\(JUnitReport.points(skeleton.maxScore))"
                + (problems.isEmpty ? " — ok" : " — FAILED"))
            results.append(LabResult(rubric: rubric, solution: solution, skeleton: skeleton, problems: problems))
        }
        return results
    }

    /// The rubric's student files read from a lab-shaped folder; a missing one is a course bug.
    static func files(from folder: String, rubric: Rubric, name: String) throws(GradingError) -> StudentFiles {
        var files: [String: Data] = [:]
        for relative in rubric.studentFiles {
            guard let data = FileManager.default.contents(atPath: folder + "/" + relative) else {
                throw GradingError("lab \(rubric.lab): the \(name) has no \(folder)/\(relative)")
            }
            files[relative] = data
        }
        return StudentFiles(name: "\(rubric.slug) \(name)", files: files, missing: [], ignored: [])
    }
}
