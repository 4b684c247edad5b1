import ArgumentParser
import Foundation
import Testing
@testable import Grading
@testable import VLabCLI

@Suite struct GradeCommandTests {
    @Test func gradingASubmissionIsTheDefaultSubcommand() throws {
        let command = try VLab.parseAsRoot(["grade", "--lab", "01", "alice.zip", "--junit", "a.xml", "--gradescope", "r.json"])
        let grade = try #require(command as? GradeSubmissions)
        #expect(grade.lab == "01")
        #expect(grade.submission == "alice.zip")
        #expect(grade.junit == "a.xml")
        #expect(grade.gradescope == "r.json")
        #expect(grade.jobs == 2)
    }

    @Test func batchShardAndMergeParse() throws {
        let batch = try #require(try VLab.parseAsRoot(["grade", "--lab", "01", "subs", "--jobs", "4", "--shard", "2/3", "--output", "out"])
                                 as? GradeSubmissions)
        #expect(batch.shard == "2/3")
        #expect(batch.output == "out")
        let merge = try #require(try VLab.parseAsRoot(["grade", "merge", "out-1", "out-2", "--lab", "01", "--output", "all"]) as? GradeMerge)
        #expect(merge.folders == ["out-1", "out-2"])
        #expect(try VLab.parseAsRoot(["grade", "--self-check"]) is GradeSubmissions)
    }

    @Test(arguments: [
        (["grade", "alice.zip"], "--lab"),
        (["grade", "--lab", "01"], "submission"),
        (["grade", "--lab", "01", "x", "--shard", "5/4"], "shard 5/4"),
        (["grade", "--lab", "01", "x", "--jobs", "0"], "--jobs"),
        (["grade", "--self-check", "x"], "--self-check takes no submission"),
    ])
    func badArgumentsAreOneClearLine(arguments: [String], expected: String) {
        do {
            _ = try VLab.parseAsRoot(arguments)
            Issue.record("\(arguments) parsed")
        } catch {
            let message = VLab.message(for: error)
            #expect(message.contains(expected), "\(message)")
        }
    }

    @Test func aMissingLabOrSubmissionFailsWithOneLineAndWritesNothing() throws {
        let folder = Fixtures.temporaryFolder("cli")
        defer { Fixtures.remove(folder) }
        for (arguments, expected) in [
            (["grade", "--course", Fixtures.miniCourse, "--cache", folder + "/cache", "--lab", "07", folder + "/x",
              "--junit", folder + "/out/j.xml"], "lab 07: no rubric"),
            (["grade", "--course", Fixtures.miniCourse, "--cache", folder + "/cache", "--lab", "01", folder + "/absent",
              "--junit", folder + "/out/j.xml"], "/absent: no such file or folder"),
            (["grade", "--course", folder, "--lab", "01", "x"], "not a course package"),
        ] {
            var command = try VLab.parseAsRoot(arguments)
            let error = #expect(throws: CommandFailure.self) { try command.run() }
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("\n") == false)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }
}
