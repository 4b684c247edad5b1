import Foundation
import Testing
@testable import Grading

@Suite struct RubricTests {
    static let valid = """
        lab: "01"
        slug: 01-isa-interpreter
        title: ISA interpreter
        student_files:
          - Sources/Lab01/Executor.swift
        tests:
          - id: rv32i-arithmetic
            name: RV32I arithmetic and logic
            filter: "Lab01HiddenTests.ArithmeticTests"
            points: 10
            visibility: hidden
            timeout: 60
            memory: 1G
          - id: traps
            name: Traps
            filter: "Lab01HiddenTests.TrapTests"
            points: 2.5
        """

    @Test func parsesEveryFieldWithDefaults() throws {
        let rubric = try Rubric(yaml: Self.valid)
        #expect(rubric.lab == "01")
        #expect(rubric.slug == "01-isa-interpreter")
        #expect(rubric.studentFiles == ["Sources/Lab01/Executor.swift"])
        #expect(rubric.tests.count == 2)
        #expect(rubric.tests[0].visibility == .hidden)
        #expect(rubric.tests[0].memoryBytes == 1 << 30)
        #expect(rubric.tests[0].timeout == 60)
        #expect(rubric.tests[1].points == 2.5)
        #expect(rubric.tests[1].visibility == .visible)
        #expect(rubric.tests[1].timeout == Rubric.defaultTimeout)
        #expect(rubric.tests[1].memoryBytes == Rubric.defaultMemoryBytes)
        #expect(rubric.totalPoints == 12.5)
    }

    @Test func readsTheFixtureCoursesRubricThroughTheCourse() throws {
        let course = try Course(root: Fixtures.miniCourse)
        let byNumber = try course.rubric(forLab: "1")
        let bySlug = try course.rubric(forLab: "01-mini-arithmetic")
        #expect(byNumber == bySlug)
        #expect(byNumber.tests.map(\.id) == ["addition", "multiplication", "division"])
        #expect(byNumber.tests[2].visibility == .afterDueDate)
        #expect(byNumber.tests[1].memoryBytes == 256 << 20)
    }

    @Test func aMissingLabIsOneLineNamingTheKnownLabs() throws {
        let course = try Course(root: Fixtures.miniCourse)
        let error = #expect(throws: GradingError.self) { try course.rubric(forLab: "07") }
        #expect(error?.message.contains("lab 07: no rubric Grader/Rubrics/07-*.yml") == true)
        #expect(error?.message.contains("01-mini-arithmetic") == true)
        #expect(error?.message.contains("\n") == false)
    }

    /// Each broken rubric is `valid` with one edit; the error must name the problem.
    @Test(arguments: [
        ("slug: 01-isa-interpreter\n", "", "missing `slug`"),
        ("    points: 10\n", "    point: 10\n", "unknown key `point`"),
        ("visibility: hidden", "visibility: secret", "`visibility` must be one of visible, hidden, after_due_date"),
        ("id: traps", "id: rv32i-arithmetic", "id is used twice"),
        ("memory: 1G", "memory: lots", "must be a size like 512M"),
        ("memory: 1G", "memory: 1M", "memory must be at least 16M"),
        ("  - Sources/Lab01/Executor.swift", "  - /etc/passwd", "must be a plain path relative to the lab folder"),
        ("  - Sources/Lab01/Executor.swift", "  - ../Package.swift", "must be a plain path relative to the lab folder"),
        ("filter: \"Lab01HiddenTests.TrapTests\"", "filter: \"Lab01(\"", "is not a valid regular expression"),
        ("points: 2.5", "points: -1", "points must be a number ≥ 0"),
        ("points: 2.5", "points: many", "`points` must be a number"),
        ("timeout: 60", "timeout: 0", "timeout must be between 0 and 3600"),
        ("slug: 01-isa-interpreter", "slug: isa-interpreter", "slug must look like \"01-topic-name\""),
        ("lab: \"01\"", "lab: \"1a\"", "lab must be two digits"),
        ("student_files:\n  - Sources/Lab01/Executor.swift\n", "student_files: []\n", "student_files must list at least one file"),
        ("tests:\n", "tests: []\nold_tests:\n", "unknown key `old_tests`"),
        ("title: ISA interpreter", "title: [ISA", "not valid YAML"),
    ])
    func invalidRubricsAreRejectedWithTheReason(original: String, replacement: String, expected: String) {
        #expect(Self.valid.contains(original), "the test's edit must apply")
        let yaml = Self.valid.replacingOccurrences(of: original, with: replacement)
        let error = #expect(throws: GradingError.self) { try Rubric(yaml: yaml, source: "broken.yml") }
        #expect(error?.message.hasPrefix("broken.yml") == true)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error")")
    }

    @Test func anUnquotedLabNumberIsReadAsTwoDigits() throws {
        let rubric = try Rubric(yaml: Self.valid.replacingOccurrences(of: "lab: \"01\"", with: "lab: 1"))
        #expect(rubric.lab == "01")
    }

    @Test func memorySizes() {
        #expect(MemorySize.parse("512M") == 512 << 20)
        #expect(MemorySize.parse("2G") == 2 << 30)
        #expect(MemorySize.parse("64k") == 64 << 10)
        #expect(MemorySize.parse("1000") == 1000)
        #expect(MemorySize.parse("0") == nil)
        #expect(MemorySize.parse("G") == nil)
        #expect(MemorySize.parse("99999999999999999999G") == nil)
    }

    @Test func shardsSplitByNameAndValidate() throws {
        let items = (1...7).map { "s\($0)" }
        let shards = try (1...3).map { try Shard(index: $0, count: 3) }
        let slices = shards.map { $0.select(items) }
        #expect(slices.flatMap { $0 }.sorted() == items.sorted())
        #expect(slices[0] == ["s1", "s4", "s7"])
        #expect(try Shard(parsing: "2/4") == Shard(index: 2, count: 4))
        #expect(throws: GradingError.self) { try Shard(parsing: "0/4") }
        #expect(throws: GradingError.self) { try Shard(parsing: "5/4") }
        #expect(throws: GradingError.self) { try Shard(parsing: "two") }
    }
}
