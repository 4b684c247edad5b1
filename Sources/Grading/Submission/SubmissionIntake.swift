#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What the grader takes from one submission: the rubric's student files and nothing else.
public struct StudentFiles: Equatable, Sendable {
    /// Display name: the submission's file or folder name.
    public var name: String
    /// Student file (relative to the lab folder) → its contents.
    public var files: [String: Data]
    /// Student files the submission does not contain; the skeleton's version is built in their place.
    public var missing: [String]
    /// Everything else in the submission, relative to it: reported, never built or run.
    public var ignored: [String]
}

/// Reads a submission — a lab folder, a repository checkout, or an archive of either — into `StudentFiles`.
public enum SubmissionIntake {
    static let maximumStudentFileBytes = 4 << 20
    static let maximumListedIgnored = 200

    /// `scratch` is an empty folder the grader owns, used to extract archives.
    public static func collect(from path: String, rubric: Rubric, scratch: String) throws(GradingError) -> StudentFiles {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw GradingError("\(path): no such file or folder")
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        var root = path
        if !isDirectory.boolValue {
            guard ArchiveReader.isArchive(path) else {
                throw GradingError("\(path): a submission must be a folder, a .zip, a .tar.gz/.tgz or a .tar")
            }
            root = scratch + "/extracted"
            do {
                try manager.createDirectory(atPath: root, withIntermediateDirectories: true)
            } catch {
                throw GradingError("\(scratch): cannot create a folder to extract into")
            }
            try ArchiveReader.extract(path, into: root)
        }
        let allFiles = try listFiles(root: root, display: path)
        let base = labFolder(in: root, files: Set(allFiles.map(\.path)), rubric: rubric)
        var taken: [String: Data] = [:]
        var takenPaths = Set<String>()
        var missing: [String] = []
        for studentFile in rubric.studentFiles {
            let relative = base.isEmpty ? studentFile : base + "/" + studentFile
            guard let file = allFiles.first(where: { $0.path == relative }) else {
                missing.append(studentFile)
                continue
            }
            guard file.size <= maximumStudentFileBytes else {
                throw GradingError("\(path): \(relative) is \(file.size) bytes; a student file may be at most \(maximumStudentFileBytes >> 20) MiB")
            }
            guard let data = manager.contents(atPath: root + "/" + relative) else {
                throw GradingError("\(path): cannot read \(relative)")
            }
            taken[studentFile] = data
            takenPaths.insert(relative)
        }
        var ignored = allFiles.map(\.path).filter { !takenPaths.contains($0) && !$0.hasPrefix(".git/") && !$0.contains("/.git/") }
        if allFiles.contains(where: { $0.path.hasPrefix(".git/") || $0.path.contains("/.git/") }) {
            ignored.insert(".git/ (repository metadata)", at: 0)
        }
        if ignored.count > maximumListedIgnored {
            let more = ignored.count - maximumListedIgnored
            ignored = Array(ignored.prefix(maximumListedIgnored)) + ["… and \(more) more"]
        }
        return StudentFiles(name: name, files: taken, missing: missing, ignored: ignored)
    }

    /// The folder inside the submission that plays the lab folder: the submission itself, its `Labs/NN-slug`
    /// (a repository checkout), or either of those inside one wrapping folder (how archives usually look).
    static func labFolder(in root: String, files: Set<String>, rubric: Rubric) -> String {
        var candidates = ["", "Labs/\(rubric.slug)", rubric.slug]
        let topLevel = Set(files.compactMap { $0.split(separator: "/").first.map(String.init) })
        if topLevel.count == 1, let wrapper = topLevel.first {
            candidates += [wrapper, "\(wrapper)/Labs/\(rubric.slug)", "\(wrapper)/\(rubric.slug)"]
        }
        func score(_ base: String) -> Int {
            rubric.studentFiles.filter { files.contains(base.isEmpty ? $0 : base + "/" + $0) }.count
        }
        return candidates.max { score($0) < score($1) } ?? ""
    }

    struct ListedFile {
        var path: String
        var size: Int
    }

    /// Every regular file under `root`, by relative path. A symlink that leaves the submission is an error;
    /// one that stays inside is listed like the file it names (and never followed into folders).
    static func listFiles(root: String, display: String) throws(GradingError) -> [ListedFile] {
        let rootURL = URL(fileURLWithPath: root).resolvingSymlinksInPath()
        let rootPath = rootURL.path
        var files: [ListedFile] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let directory = relative.isEmpty ? rootPath : rootPath + "/" + relative
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw GradingError("\(display): cannot read folder \(relative.isEmpty ? "." : relative)")
            }
            for name in names.sorted() {
                let child = relative.isEmpty ? name : relative + "/" + name
                let full = rootPath + "/" + child
                var info = stat()
                guard lstat(full, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    pending.append(child)
                case S_IFREG:
                    files.append(ListedFile(path: child, size: Int(info.st_size)))
                case S_IFLNK:
                    let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?"
                    let resolved = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
                    guard resolved == rootPath || resolved.hasPrefix(rootPath + "/") else {
                        throw GradingError("\(display): symlink \(child) points outside the submission (→ \(target))")
                    }
                    var targetInfo = stat()
                    if stat(resolved, &targetInfo) == 0, targetInfo.st_mode & S_IFMT == S_IFREG {
                        files.append(ListedFile(path: child, size: Int(targetInfo.st_size)))
                    }
                default:
                    continue
                }
            }
        }
        return files.sorted { $0.path < $1.path }
    }
}

extension SubmissionIntake {
    /// Whether a path is one submission (an archive, or a folder holding at least one student file where a lab
    /// folder or checkout would) rather than a folder of submissions.
    public static func isSingleSubmission(_ path: String, rubric: Rubric) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return true
        }
        let files = Set(rubric.studentFiles.flatMap { file in
            ["", "Labs/\(rubric.slug)/", "\(rubric.slug)/"].map { $0 + file }
        }.filter { FileManager.default.fileExists(atPath: path + "/" + $0) })
        return !files.isEmpty
    }
}
