import Foundation
import Testing
@testable import VLabCLI

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct SkeletonGenerationTests {
    @Test func regionsBecomeTheirStubs() throws {
        let solution = """
            func f() throws -> Int {
                // BEGIN SOLUTION
                // STUB: throw NotImplemented(lab: "09", "f")
                return 42
                // END SOLUTION
            }
            // BEGIN SOLUTION
            func helper() {}
            // END SOLUTION
            let kept = 1
            """
        #expect(try LabRelease.skeleton(of: solution, fileName: "x.swift") == """
            func f() throws -> Int {
                throw NotImplemented(lab: "09", "f")
            }
            let kept = 1
            """)
    }

    @Test func unbalancedMarkersAreErrorsNamingTheLine() {
        #expect(throws: CommandFailure.self) { try LabRelease.skeleton(of: "a\n// BEGIN SOLUTION\nb\n", fileName: "x.swift") }
        #expect(throws: CommandFailure.self) { try LabRelease.skeleton(of: "// END SOLUTION\n", fileName: "x.swift") }
        #expect(throws: CommandFailure.self) { try LabRelease.skeleton(of: "// BEGIN SOLUTION\n// BEGIN SOLUTION\n// END SOLUTION\n", fileName: "x.swift") }
        do {
            _ = try LabRelease.skeleton(of: "a\n  // BEGIN SOLUTION\n", fileName: "x.swift")
        } catch {
            #expect("\(error)" == "x.swift:2: BEGIN SOLUTION is never closed by END SOLUTION")
        }
    }

    /// The drift check: every committed skeleton is exactly what `vlab release` generates.
    @Test func committedSkeletonsMatchTheSolutions() throws {
        let drifts = try LabRelease.drift(root: repositoryRoot)
        #expect(drifts.isEmpty, "\(drifts.map(\.description).joined(separator: "\n"))")
        #expect(try LabRelease.labs(root: repositoryRoot).map(\.slug) == ["01-isa-interpreter", "02-binary-translation", "03-trap-and-emulate", "04-sensitive-instructions", "05-shadow-paging", "06-split-driver-io", "07-containers"])
    }

    /// Every solution region of a lab that has functions to write carries a stub, so the
    /// skeleton fails with a TODO message rather than silently doing nothing.
    @Test func skeletonsCarryTODOMessages() throws {
        for lab in try LabRelease.labs(root: repositoryRoot) {
            let skeleton = try LabRelease.generate(lab, root: repositoryRoot)
            let text = skeleton.values.joined()
            // Lab 07's steps throw the runtime's own typed error (`throws(ContainerError)`), with the same kind of message.
            #expect(text.contains("NotImplemented(lab: \"\(lab.number)\"") || text.contains("ContainerError(\"Lab \(lab.number): "),
                    "lab \(lab.slug) has no TODO stub")
            #expect(!text.contains("BEGIN SOLUTION") && !text.contains("fatalError"), "lab \(lab.slug)")
        }
    }

    /// Lab 02 ships the Lab 01 reference executor; the two copies must not drift apart.
    @Test func labTwoShipsTheLabOneExecutor() throws {
        let lab01 = try String(contentsOf: repositoryRoot.appendingPathComponent("Grader/Solutions/01-isa-interpreter/Sources/Lab01/Executor.swift"), encoding: .utf8)
        let lab02 = try String(contentsOf: repositoryRoot.appendingPathComponent("Grader/Solutions/02-binary-translation/Sources/Lab02/Executor.swift"), encoding: .utf8)
        let answer = lab01.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            let trimmed = line.drop { $0 == " " }
            return !trimmed.hasPrefix(LabRelease.beginMarker) && !trimmed.hasPrefix(LabRelease.endMarker) && !trimmed.hasPrefix(LabRelease.stubPrefix)
        }.joined(separator: "\n")
        let shipped = lab02.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("//") }.joined(separator: "\n")
        #expect(shipped == answer)
    }

    /// Lab 04 ships the Lab 03 reference handler, and both labs ship the same support files.
    @Test func labFourShipsTheLabThreeHandler() throws {
        func solution(_ path: String) throws -> String {
            try String(contentsOf: repositoryRoot.appendingPathComponent("Grader/Solutions/\(path)"), encoding: .utf8)
        }
        let answer = try solution("03-trap-and-emulate/Sources/Lab03/TrapAndEmulateHandler.swift")
            .split(separator: "\n", omittingEmptySubsequences: false).filter { line in
                let trimmed = line.drop { $0 == " " }
                return !trimmed.hasPrefix(LabRelease.beginMarker) && !trimmed.hasPrefix(LabRelease.endMarker) && !trimmed.hasPrefix(LabRelease.stubPrefix)
            }.joined(separator: "\n")
        let shipped = try solution("04-sensitive-instructions/Sources/Lab04/TrapAndEmulateHandler.swift")
            .split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("//") }.joined(separator: "\n")
        #expect(shipped == answer)
        for file in ["NotImplemented.swift"] {
            #expect(try solution("03-trap-and-emulate/Sources/Lab03/\(file)") == solution("04-sensitive-instructions/Sources/Lab04/\(file)"), "\(file)")
        }
    }

    @Test func releaseCheckCommandPasses() throws {
        var command = try VLab.parseAsRoot(["release", "--check", "--root", repositoryRoot.path])
        try command.run()
    }

    @Test func labTestInvocation() throws {
        let publicOnly = try LabTestInvocation(lab: "01", slug: "01-isa-interpreter", root: repositoryRoot, filter: nil, hidden: false, solution: false)
        #expect(publicOnly.arguments == ["test", "--filter", "Lab01PublicTests"])
        #expect(publicOnly.environment == ["VLAB_LAB": "01"])
        let instructor = try LabTestInvocation(lab: "02", slug: "02-binary-translation", root: repositoryRoot, filter: "Invalidation", hidden: true, solution: true)
        #expect(instructor.arguments == ["test", "--filter", "Lab02(Public|Hidden)Tests\\..*(Invalidation)"])
        #expect(instructor.environment["VLAB_HIDDEN_TESTS"] == "1")
        #expect(instructor.environment["VLAB_LAB_SOURCES"] == repositoryRoot.appendingPathComponent("Grader/Solutions/02-binary-translation/Sources/Lab02").path)
    }
}

/// The rubrics, read with a line parser (the Grading module reads them with Yams; this checks the
/// content the two helpers agreed on: filters that name real suites, student files that exist).
@Suite struct RubricTests {
    struct RubricTest { var id = "", filter = "", points = 0, visibility = "" }

    static func read(_ slug: String) throws -> (studentFiles: [String], tests: [RubricTest]) {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("Grader/Rubrics/\(slug).yml"), encoding: .utf8)
        var files: [String] = [], tests: [RubricTest] = []
        var inFiles = false
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            func value(_ key: String) -> String? {
                guard line.hasPrefix(key) else { return nil }
                return line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            if line == "student_files:" { inFiles = true; continue }
            if line == "tests:" { inFiles = false; continue }
            if inFiles, let file = value("- ") { files.append(file); continue }
            if let id = value("- id:") { tests.append(RubricTest(id: id)) }
            if let filter = value("filter:") { tests[tests.count - 1].filter = filter }
            if let points = value("points:") { tests[tests.count - 1].points = Int(points) ?? -1 }
            if let visibility = value("visibility:") { tests[tests.count - 1].visibility = visibility }
        }
        return (files, tests)
    }

    @Test(arguments: ["01-isa-interpreter", "02-binary-translation", "03-trap-and-emulate", "04-sensitive-instructions", "05-shadow-paging", "06-split-driver-io", "07-containers"])
    func filtersNameExistingSuites(_ slug: String) throws {
        let rubric = try RubricTests.read(slug)
        let number = String(slug.prefix(2))
        #expect(rubric.tests.reduce(0) { $0 + $1.points } == 100)
        #expect(Set(rubric.tests.map(\.id)).count == rubric.tests.count, "ids are unique")
        for file in rubric.studentFiles {
            #expect(FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("Labs/\(slug)/\(file)").path), "\(file)")
        }
        for test in rubric.tests {
            #expect(["visible", "hidden", "after_due_date"].contains(test.visibility), "\(test.id)")
            let parts = test.filter.split(separator: ".")
            #expect(parts.count == 2, "\(test.id): filter \(test.filter) is not Module.Suite")
            guard parts.count == 2 else { continue }
            let module = String(parts[0]), suite = String(parts[1])
            let folder = module.hasSuffix("PublicTests") ? "Labs/\(slug)/Tests/\(module)" : "Grader/HiddenTests/\(slug)/\(module)"
            #expect(module == "Lab\(number)PublicTests" || module == "Lab\(number)HiddenTests", "\(test.id)")
            let sources = try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent(folder).path)
                .map { try String(contentsOf: repositoryRoot.appendingPathComponent(folder).appendingPathComponent($0), encoding: .utf8) }
            // `@Suite struct X` or, with traits on their own line (`@Suite(.enabled(if: ...))`), `struct X`.
            #expect(sources.contains { $0.contains("@Suite") && ($0.contains("struct \(suite) ") || $0.contains("struct \(suite){")) },
                    "\(test.id): no suite \(suite) in \(folder)")
        }
    }
}
