import Foundation
import Testing
@testable import Grading

/// Submissions arrive as folders and archives; only the rubric's student files are taken, and archives are
/// checked entry by entry before anything is written. The hostile archives are made with Python's `tarfile`
/// and `zipfile`, which write whatever names and link targets they are given.
@Suite(.enabled(if: Fixtures.havePython, "python3 is needed to build test archives"))
struct ArchiveSafetyTests {
    static let rubric = try! Course(root: Fixtures.miniCourse).rubric(forLab: "01")
    static let student = "Sources/Lab01/Arithmetic.swift"

    /// Builds an archive from (name, kind, data) entries: kind is "file", "dir" or "link" (data = target).
    static func makeArchive(_ path: String, _ entries: [(String, String, String)]) throws {
        let spec = try String(data: JSONSerialization.data(withJSONObject: entries.map { [$0.0, $0.1, $0.2] }), encoding: .utf8)!
        let script = """
            import sys, json, io, tarfile, zipfile
            path, entries = sys.argv[1], json.loads(sys.argv[2])
            if path.endswith('.zip'):
                with zipfile.ZipFile(path, 'w') as z:
                    for name, kind, data in entries:
                        info = zipfile.ZipInfo(name + ('/' if kind == 'dir' else ''))
                        info.create_system = 3
                        mode = {'file': 0o100644, 'dir': 0o040755, 'link': 0o120777}[kind]
                        info.external_attr = mode << 16
                        z.writestr(info, data if kind != 'dir' else '', compress_type=zipfile.ZIP_STORED)
            else:
                with tarfile.open(path, 'w:gz' if path.endswith('gz') else 'w') as t:
                    for name, kind, data in entries:
                        info = tarfile.TarInfo(name)
                        if kind == 'dir': info.type = tarfile.DIRTYPE; t.addfile(info)
                        elif kind == 'link': info.type = tarfile.SYMTYPE; info.linkname = data; t.addfile(info)
                        else:
                            raw = data.encode(); info.size = len(raw); t.addfile(info, io.BytesIO(raw))
            """
        let (status, output) = try Fixtures.python(script, [path, spec])
        #expect(status == .exited(0), "\(output)")
    }

    static func collect(_ path: String, scratch: String) throws(GradingError) -> StudentFiles {
        try SubmissionIntake.collect(from: path, rubric: rubric, scratch: scratch)
    }

    @Test(arguments: ["alice.tar.gz", "alice.tgz", "alice.zip", "alice.tar"])
    func aWellFormedArchiveYieldsTheStudentFileAndListsTheRest(name: String) throws {
        let folder = Fixtures.temporaryFolder("archive")
        defer { Fixtures.remove(folder) }
        try Self.makeArchive(folder + "/" + name, [
            ("alice-lab01", "dir", ""),
            ("alice-lab01/" + Self.student, "file", "public func add() {}"),
            ("alice-lab01/Package.swift", "file", "// a student's own manifest is ignored"),
            ("alice-lab01/notes/readme.txt", "file", "hello"),
            ("alice-lab01/notes/link", "link", "readme.txt"),
        ])
        try FileManager.default.createDirectory(atPath: folder + "/scratch", withIntermediateDirectories: true)
        let files = try Self.collect(folder + "/" + name, scratch: folder + "/scratch")
        #expect(files.files[Self.student] == Data("public func add() {}".utf8))
        #expect(files.missing.isEmpty)
        #expect(files.ignored == ["alice-lab01/Package.swift", "alice-lab01/notes/link", "alice-lab01/notes/readme.txt"])
    }

    @Test(arguments: [
        ("evil.tar.gz", [("/tmp/vlab-evil-absolute", "file", "x")], "has an absolute path"),
        ("evil.tar.gz", [("lab/../../vlab-evil-dotdot", "file", "x")], "contains `..`"),
        ("evil.tar.gz", [("lab/escape", "link", "/etc"), ("lab/escape/passwd", "file", "x")], "points outside the archive"),
        ("evil.tar.gz", [("lab/up", "link", "../.."), ("lab/up/vlab-evil", "file", "x")], "points outside the archive"),
        ("evil.tar.gz", [("lab/inside", "link", "."), ("lab/inside/f", "file", "x")], "written through the symlink \"lab/inside\""),
        ("evil.zip", [("/tmp/vlab-evil-absolute", "file", "x")], "has an absolute path"),
        ("evil.zip", [("../vlab-evil-dotdot", "file", "x")], "contains `..`"),
        ("evil.zip", [("lab/escape", "link", "/etc/passwd")], "points outside the archive"),
    ])
    func unsafeArchivesAreRefusedWithOneLineAndWriteNothingOutside(name: String, entries: [(String, String, String)],
                                                                    expected: String) throws {
        let folder = Fixtures.temporaryFolder("evil")
        defer { Fixtures.remove(folder) }
        try Self.makeArchive(folder + "/" + name, entries)
        let scratch = folder + "/jobs/scratch"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let error = #expect(throws: GradingError.self) { try Self.collect(folder + "/" + name, scratch: scratch) }
        #expect(error?.message.hasPrefix(folder + "/" + name) == true)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
        // Nothing was extracted at all (entries are checked before any is written), nor at the absolute path.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/jobs") == ["scratch"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch) == ["extracted"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch + "/extracted").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/vlab-evil-absolute"))
    }

    @Test func unreadableArchivesAreOneLineErrors() throws {
        let folder = Fixtures.temporaryFolder("garbage")
        defer { Fixtures.remove(folder) }
        for name in ["junk.tar.gz", "junk.zip", "junk.tar"] {
            _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }))
            let error = #expect(throws: GradingError.self) { try Self.collect(folder + "/" + name, scratch: folder) }
            #expect(error?.message.hasPrefix(folder + "/" + name + ": ") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("\n") == false)
        }
        _ = FileManager.default.createFile(atPath: folder + "/homework.rar", contents: Data("x".utf8))
        let error = #expect(throws: GradingError.self) { try Self.collect(folder + "/homework.rar", scratch: folder) }
        #expect(error?.message.contains("a submission must be a folder, a .zip") == true)
        #expect(throws: GradingError.self) { try Self.collect(folder + "/absent", scratch: folder) }
    }

    @Test func aFolderWithASymlinkLeavingItIsRefused() throws {
        let folder = Fixtures.temporaryFolder("symlink")
        defer { Fixtures.remove(folder) }
        let submission = folder + "/bob"
        try FileManager.default.createDirectory(atPath: submission + "/Sources/Lab01", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: submission + "/" + Self.student, withDestinationPath: "/etc/passwd")
        let error = #expect(throws: GradingError.self) { try Self.collect(submission, scratch: folder) }
        #expect(error?.message == "\(submission): symlink Sources/Lab01/Arithmetic.swift points outside the submission (→ /etc/passwd)")
    }

    @Test func aRepositoryCheckoutIsReadFromItsLabFolder() throws {
        let folder = Fixtures.temporaryFolder("checkout")
        defer { Fixtures.remove(folder) }
        let lab = folder + "/carol/Labs/01-mini-arithmetic/Sources/Lab01"
        try FileManager.default.createDirectory(atPath: lab, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/carol/.git/objects", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder + "/carol/.git/HEAD", contents: Data("ref".utf8))
        _ = FileManager.default.createFile(atPath: lab + "/Arithmetic.swift", contents: Data("// carol".utf8))
        // A symlink that stays inside the submission is fine.
        try FileManager.default.createSymbolicLink(atPath: folder + "/carol/current", withDestinationPath: "Labs/01-mini-arithmetic")
        let files = try Self.collect(folder + "/carol", scratch: folder)
        #expect(files.files[Self.student] == Data("// carol".utf8))
        #expect(files.ignored.first == ".git/ (repository metadata)")
        #expect(SubmissionIntake.isSingleSubmission(folder + "/carol", rubric: Self.rubric))
        #expect(!SubmissionIntake.isSingleSubmission(folder, rubric: Self.rubric))
    }

    @Test func aSubmissionWithoutTheStudentFileListsItAsMissing() throws {
        let folder = Fixtures.temporaryFolder("empty")
        defer { Fixtures.remove(folder) }
        _ = FileManager.default.createFile(atPath: folder + "/solution.swift", contents: Data("//".utf8))
        let files = try Self.collect(folder, scratch: folder)
        #expect(files.files.isEmpty)
        #expect(files.missing == [Self.student])
        #expect(files.ignored == ["solution.swift"])
    }

    /// Damaged archives (every byte position flipped, and every truncation) are errors or results, never traps.
    @Test func damagedArchivesNeverCrashTheReader() throws {
        let folder = Fixtures.temporaryFolder("damaged")
        defer { Fixtures.remove(folder) }
        for name in ["ok.tar", "ok.zip"] {
            try Self.makeArchive(folder + "/" + name, [("lab/" + Self.student, "file", "let x = 1"), ("lab/link", "link", "Sources")])
            let original = [UInt8](try #require(FileManager.default.contents(atPath: folder + "/" + name)))
            for position in stride(from: 0, to: original.count, by: max(1, original.count / 300)) {
                for variant in 0..<2 {
                    var bytes = original
                    if variant == 0 { bytes[position] ^= 0xFF } else { bytes.removeSubrange(position...) }
                    let data = Data(bytes)
                    if name.hasSuffix(".zip") {
                        _ = try? ArchiveReader.zipEntries(data, archive: name)
                    } else {
                        _ = try? ArchiveReader.tarEntries(data, archive: name)
                    }
                }
            }
        }
    }
}
