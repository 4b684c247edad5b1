import Foundation
import Testing
@testable import Grading

/// The grader against hostile submissions, for real: the fixture course is copied, its template built once
/// (warm), and each attack in Fixtures/Adversarial is graded as its own submission, in two shards merged at the
/// end. Each must get exactly the expected score with the expected typed reason, and none may change the
/// course, the warm template or anything outside the output folders.
@Suite(.serialized) struct AdversarialSubmissionTests {
    static let capabilities = SandboxCapabilities.probe()
    static var fullyIsolated: Bool {
        capabilities.namespaces != .unavailable && capabilities.controlGroups?.enforcesMemory == true
            && capabilities.controlGroups?.enforcesProcesses == true
    }

    /// Submission → (score out of 25, reason per rubric test; nil = passed).
    static let expected: [String: (Double, [String: FailureReason?])] = [
        "reference": (25, ["addition": nil, "multiplication": nil, "division": nil]),
        "reference-archive": (25, ["addition": nil, "multiplication": nil, "division": nil]),
        "skeleton": (0, ["addition": .failed, "multiplication": .failed, "division": .failed]),
        "compile-error": (0, ["addition": .compileError, "multiplication": .compileError, "division": .compileError]),
        "crash-fatal-error": (15, ["addition": nil, "multiplication": .crash, "division": nil]),
        "crash-segfault": (20, ["addition": nil, "multiplication": nil, "division": .crash]),
        "hang": (15, ["addition": nil, "multiplication": .timeout, "division": nil]),
        "exit-mid-test": (15, ["addition": nil, "multiplication": .exitedEarly, "division": nil]),
        "forged-output": (15, ["addition": nil, "multiplication": .failed, "division": nil]),
        "file-tampering": (15, ["addition": nil, "multiplication": .failed, "division": nil]),
        "huge-output": (15, ["addition": nil, "multiplication": .limit, "division": nil]),
        "fork-bomb": (15, ["addition": nil, "multiplication": .limit, "division": nil]),
        "memory-bomb": (15, ["addition": nil, "multiplication": .oom, "division": nil]),
    ]

    @Test(.enabled(if: fullyIsolated, "needs mount/PID/network namespaces and cgroup memory+pids controllers (root on Linux)"),
          .timeLimit(.minutes(20)))
    func everyAttackCostsExactlyTheAffectedTests() throws {
        let root = Fixtures.temporaryFolder("adversarial")
        defer { Fixtures.remove(root) }
        let manager = FileManager.default
        let coursePath = root + "/course", cache = root + "/cache", submissions = root + "/submissions"
        try Fixtures.run(["/bin/cp", "-a", Fixtures.miniCourse, coursePath])
        try manager.createDirectory(atPath: submissions, withIntermediateDirectories: true)
        for name in try manager.contentsOfDirectory(atPath: Fixtures.adversarial) {
            try Fixtures.run(["/bin/cp", "-a", Fixtures.adversarial + "/" + name, submissions + "/" + name])
        }
        // The vandal is told where the grader's own folders are.
        let vandal = submissions + "/file-tampering/Sources/Lab01/Arithmetic.swift"
        try String(contentsOfFile: vandal, encoding: .utf8)
            .replacingOccurrences(of: "COURSE_ROOT", with: coursePath).replacingOccurrences(of: "CACHE_ROOT", with: cache)
            .write(toFile: vandal, atomically: true, encoding: .utf8)
        try Fixtures.run(["/bin/cp", "-a", coursePath + "/Grader/Solutions/01-mini-arithmetic", submissions + "/reference"])
        try Fixtures.run(["/bin/cp", "-a", coursePath + "/Labs/01-mini-arithmetic", submissions + "/skeleton"])
        let (tarStatus, tarOutput) = try Fixtures.run(["/bin/tar", "-czf", submissions + "/reference-archive.tar.gz",
                                                       "-C", coursePath + "/Grader/Solutions", "01-mini-arithmetic"])
        #expect(tarStatus == .exited(0), "\(tarOutput)")
        // Bad input in a batch is that student's row, not the batch's end.
        let (evilStatus, _) = try Fixtures.python(
            "import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w:gz')\ni=tarfile.TarInfo('/etc/evil')\ni.size=1\nt.addfile(i,io.BytesIO(b'x'))\nt.close()",
            [submissions + "/rejected.tar.gz"])
        #expect(evilStatus == .exited(0))
        let submissionsBefore = try snapshot(submissions)

        let course = try Course(root: coursePath)
        let outputs = [root + "/out-1", root + "/out-2"]
        let grader = try Grader(course: course, lab: "01", cacheRoot: cache, capabilities: Self.capabilities,
                                privateDirectories: [submissions] + outputs + [root + "/merged"])
        try grader.prepare()
        let bundle = grader.warmBuild.templateFolder + "/" + grader.warmBuild.testBundle
        let bundleBefore = try #require(manager.contents(atPath: bundle))
        let templateBefore = try snapshot(grader.warmBuild.templateFolder, skipping: ".build")

        let all = try BatchGrader.submissions(in: submissions)
        #expect(all.count == Self.expected.count + 1)
        var rows: [ClassRow] = []
        for (index, output) in outputs.enumerated() {
            let shard = try Shard(index: index + 1, count: 2)
            rows += try BatchGrader(grader: grader).run(submissions: all, outputFolder: output, jobs: 2, shard: shard)
        }

        for (name, (score, reasons)) in Self.expected {
            let row = try #require(rows.first { $0.submission == name }, "\(name) was not graded")
            let report = try #require(row.report, "\(name) was rejected: \(row.rejection ?? "")")
            #expect(report.score == score, "\(name): \(report.tests.map { "\($0.id) \($0.reason?.rawValue ?? "passed"): \($0.message)" })")
            for (id, reason) in reasons {
                let test = try #require(report.tests.first { $0.id == id })
                #expect(test.reason == reason, "\(name) \(id): \(test.reason?.rawValue ?? "passed") — \(test.message)")
            }
        }
        let rejected = try #require(rows.first { $0.submission == "rejected" })
        #expect(rejected.report == nil)
        #expect(rejected.rejection?.contains("has an absolute path") == true)

        // What the reports say, beyond the score.
        let report = { (name: String) in rows.first { $0.submission == name }?.report }
        #expect(report("compile-error")?.compileErrors?.contains("Sources/Lab01/Arithmetic.swift:") == true)
        #expect(report("compile-error")?.compileErrors?.contains("error:") == true)
        #expect(report("compile-error")?.compileErrors?.contains(Sandbox.fixedWorkspace) == false)
        #expect(report("reference-archive")?.ignoredFiles == ["01-mini-arithmetic/Sources/Lab01/DivisionByZero.swift"])
        let huge = try #require(report("huge-output")?.tests.first { $0.id == "multiplication" })
        #expect(huge.output.utf8.count < 70_000)
        #expect(report("memory-bomb")?.enforcedLimits.contains { $0.contains("memory controller") } == true)
        #expect(report("forged-output")?.tests.first { $0.id == "multiplication" }?.output.contains("SCORE: 25/25") == true)

        // Shards merge into one class.
        let merged = try ShardMerge.merge(folders: outputs, rubric: grader.rubric, outputFolder: root + "/merged")
        #expect(merged.shardCount == 2)
        #expect(merged.rows.count == all.count)
        let csv = try String(contentsOfFile: root + "/merged/class.csv", encoding: .utf8)
        #expect(csv.contains("\nmemory-bomb,15,25,graded,10,0,5,passed,oom,passed\n"))
        #expect(csv.split(separator: "\n").count == all.count + 1)
        #expect(throws: GradingError.self) {
            try ShardMerge.merge(folders: [outputs[0]], rubric: grader.rubric, outputFolder: root + "/merged-partial")
        }
        if Fixtures.haveSchemasAndXmllint {
            for schema in [Fixtures.jenkinsSchema, Fixtures.antSchema] {
                let (status, output) = try Fixtures.run([Sandbox.findExecutable("xmllint")!, "--noout", "--schema", schema,
                                                         root + "/merged/junit.xml"])
                #expect(status == .exited(0), "\(output)")
            }
        }

        // Nothing the submissions did reached the grader's files.
        #expect(try snapshot(coursePath) == snapshot(Fixtures.miniCourse))
        #expect(manager.contents(atPath: bundle) == bundleBefore)
        #expect(try snapshot(grader.warmBuild.templateFolder, skipping: ".build") == templateBefore)
        #expect(try snapshot(submissions) == submissionsBefore)
        #expect(try manager.contentsOfDirectory(atPath: root).sorted()
                == ["cache", "course", "merged", "out-1", "out-2", "submissions"])
        #expect(try manager.contentsOfDirectory(atPath: grader.warmBuild.labCache + "/jobs").isEmpty)

        // An interrupted batch (SIGINT mid-run) leaves only whole reports.
        let vlab = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vlab").path
        if manager.isExecutableFile(atPath: vlab) {
            let interrupted = root + "/interrupted"
            var child = ChildProcess([vlab, "grade", "--course", coursePath, "--cache", cache, "--lab", "01", submissions,
                                      "--output", interrupted, "--jobs", "2"])
            child.monitor = { [interrupted] in
                // Interrupt once the first report is written, while others are in flight.
                let names = (try? FileManager.default.contentsOfDirectory(atPath: interrupted)) ?? []
                let done = names.contains { FileManager.default.fileExists(atPath: interrupted + "/" + $0 + "/report.json") }
                return done ? "interrupt" : nil
            }
            child.signalOnStop = SIGINT
            let result = try child.run()
            #expect(result.termination == .exited(130) || result.termination == .signaled(SIGINT), "\(result.standardError.text)")
            var whole = 0
            let enumerator = manager.enumerator(atPath: interrupted)
            while let relative = enumerator?.nextObject() as? String {
                #expect(!relative.contains(".partial"), "half-written \(relative)")
                if relative.hasSuffix("report.json") {
                    let data = try #require(manager.contents(atPath: interrupted + "/" + relative))
                    #expect((try? JSONDecoder().decode(SubmissionReport.self, from: data)) != nil, "\(relative) is not whole")
                    whole += 1
                }
            }
            #expect(whole >= 1)
            #expect(try manager.contentsOfDirectory(atPath: grader.warmBuild.labCache + "/jobs").isEmpty,
                    "an interrupted grader removes its workspaces")
            #expect(!manager.fileExists(atPath: interrupted + "/class.csv"), "the class CSV is written only at the end")
            Fixtures.remove(interrupted)
        }

        // The self-check on the same warm template: solution 100%, skeleton 0%.
        let check = try SelfCheck.run(course: course, cacheRoot: cache, capabilities: Self.capabilities)
        #expect(check.count == 1)
        #expect(check.first?.problems == [])
        #expect(check.first?.solution.score == 25)
        #expect(check.first?.skeleton.score == 0)
    }

    /// Relative path → contents of every file under `folder`.
    private func snapshot(_ folder: String, skipping: String? = nil) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let relative = enumerator?.nextObject() as? String {
            if let skipping, relative == skipping || relative.hasPrefix(skipping + "/") { continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = FileManager.default.contents(atPath: folder + "/" + relative) ?? Data()
            }
        }
        return files
    }
}
