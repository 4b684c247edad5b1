#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A lab's template workspace: a copy of the course package (without `.git`, `.build`, the reference
/// solutions and anything the grader writes), built once with the lab and its hidden tests. Each submission
/// gets a copy of it (`cp -a --reflink=auto`, so timestamps survive and copy-on-write file systems share
/// blocks) seen at the same path, so its build only recompiles the student's module and relinks the tests.
///
/// The template is kept in the cache between runs and rebuilt (incrementally) when the course's files change.
public final class WarmBuild: Sendable {
    public let course: Course
    public let rubric: Rubric
    let sandbox: Sandbox
    /// The folder holding `template/`, `jobs/` and the lock file for this lab.
    public let labCache: String
    /// Paths that must never be copied into the template (output and submission folders inside the course).
    let excluded: [String]

    public var templateFolder: String { labCache + "/template" }

    init(course: Course, rubric: Rubric, sandbox: Sandbox, cacheRoot: String, excluded: [String]) {
        self.course = course
        self.rubric = rubric
        self.sandbox = sandbox
        self.labCache = cacheRoot + "/" + rubric.slug
        self.excluded = excluded.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    }

    /// The environment of the course's package-graph contract: the lab and its hidden tests join the graph.
    var buildEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["VLAB_LAB"] = rubric.lab
        environment["VLAB_HIDDEN_TESTS"] = "1"
        environment.removeValue(forKey: "VLAB_LAB_SOURCES")
        return environment
    }

    /// The built test bundle, relative to a workspace.
    public var testBundle: String {
        (try? String(contentsOfFile: labCache + "/template/.vlab-test-bundle", encoding: .utf8)) ?? ""
    }

    /// Brings the template up to date and builds it; returns the seconds spent (0 when it was current).
    @discardableResult
    public func prepare(log: (String) -> Void = { _ in }) throws(GradingError) -> Double {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: templateFolder, withIntermediateDirectories: true)
        } catch {
            throw GradingError("\(labCache): cannot create the grader's cache: \(error.localizedDescription)")
        }
        // Two graders sharing a cache take turns on the template.
        let lock = open(labCache + "/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw GradingError("\(labCache)/.lock: cannot open the cache lock") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 && errno == EINTR {}

        let fingerprint = try sourceFingerprint()
        let stamp = templateFolder + "/.vlab-fingerprint"
        if (try? String(contentsOfFile: stamp, encoding: .utf8)) == fingerprint, !testBundle.isEmpty,
           manager.fileExists(atPath: templateFolder + "/" + testBundle) {
            return 0
        }
        let started = Date()
        log("Preparing the warm build of lab \(rubric.lab) (\(rubric.slug)); the first one compiles the whole package…")
        seedFromSiblingLab(log: log)
        try syncSources()
        let result = try sandbox.run(SandboxedCommand(
            arguments: [swiftExecutable(), "build", "--build-tests"], environment: buildEnvironment,
            workspace: templateFolder, workspaceReadOnly: false, scratch: nil, hiddenDirectories: [],
            isolateNetwork: false, limits: SandboxLimits(wallTime: 3600)), name: "vlab-template-\(getpid())")
        guard result.termination == .exited(0) else {
            let errors = CompilerDiagnostics.errors(in: result.result.standardOutput.text + result.result.standardError.text,
                                                    workspace: sandbox.workspacePath(for: templateFolder))
            throw GradingError("lab \(rubric.lab): the skeleton does not build with the hidden tests: \(errors.split(separator: "\n").first ?? "swift build failed")")
        }
        let bundle = try findTestBundle()
        try? bundle.write(toFile: templateFolder + "/.vlab-test-bundle", atomically: true, encoding: .utf8)
        try? fingerprint.write(toFile: stamp, atomically: true, encoding: .utf8)
        return Date().timeIntervalSince(started)
    }

    /// A template with no build yet starts from another lab's built template, when one exists in the same
    /// cache: everything below the labs (RISCV, Machine, the hypervisor…) is the same package at the same
    /// sandbox path, so SwiftPM recompiles only what differs (the lab and its tests) instead of the whole
    /// package. Only with namespaces: without them each template is built at its own host path, and
    /// SwiftPM's build state, full of absolute paths, would not carry over. Best effort: a failed copy
    /// leaves an empty `.build` and a cold build.
    private func seedFromSiblingLab(log: (String) -> Void) {
        let manager = FileManager.default
        let ownBuild = templateFolder + "/.build"
        guard sandbox.usesNamespaces, !manager.fileExists(atPath: ownBuild) else { return }
        let cacheRoot = (labCache as NSString).deletingLastPathComponent
        var newest: (folder: String, built: Date)?
        for slug in (try? manager.contentsOfDirectory(atPath: cacheRoot)) ?? [] where cacheRoot + "/" + slug != labCache {
            let template = cacheRoot + "/" + slug + "/template"
            guard manager.fileExists(atPath: template + "/.build"),
                  let built = (try? manager.attributesOfItem(atPath: template + "/.vlab-fingerprint"))?[.modificationDate] as? Date
            else { continue }
            if newest.map({ built > $0.built }) ?? true { newest = (cacheRoot + "/" + slug, built) }
        }
        guard let sibling = newest else { return }
        // The sibling's grader may be rebuilding it: copy under its lock.
        let lock = open(sibling.folder + "/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { return }
        defer { close(lock) }
        while flock(lock, LOCK_SH) != 0 && errno == EINTR {}
        log("Starting from the built template of \((sibling.folder as NSString).lastPathComponent)")
        if (try? copyTree(sibling.folder + "/template/.build", to: ownBuild)) == nil {
            try? manager.removeItem(atPath: ownBuild)
        }
    }

    /// Replaces everything in the template except `.build` with a fresh copy of the course's files.
    private func syncSources() throws(GradingError) {
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: templateFolder)) ?? [] where name != ".build" {
            try? manager.removeItem(atPath: templateFolder + "/" + name)
        }
        for entry in copiedEntries() {
            let destination = templateFolder + "/" + entry
            try? manager.createDirectory(atPath: (destination as NSString).deletingLastPathComponent,
                                         withIntermediateDirectories: true)
            try copyTree(course.root + "/" + entry, to: destination)
        }
    }

    /// Top-level entries of the course to copy; `Grader` contributes everything but `Solutions`.
    func copiedEntries() -> [String] {
        let manager = FileManager.default
        var entries: [String] = []
        for name in ((try? manager.contentsOfDirectory(atPath: course.root)) ?? []).sorted() {
            if name == ".git" || name.hasPrefix(".build") || name == ".swiftpm" { continue }
            let path = course.root + "/" + name
            if excluded.contains(where: { $0 == path || $0.hasPrefix(path + "/") }) && name != "Grader" { continue }
            if name == "Grader" {
                for child in ((try? manager.contentsOfDirectory(atPath: path)) ?? []).sorted() where child != "Solutions" {
                    if excluded.contains(where: { $0 == path + "/" + child || $0.hasPrefix(path + "/" + child + "/") }) { continue }
                    entries.append("Grader/" + child)
                }
                continue
            }
            entries.append(name)
        }
        return entries
    }

    /// Sizes and modification times of every file the template is built from: a change rebuilds the template.
    private func sourceFingerprint() throws(GradingError) -> String {
        var hash = FNV1a()
        hash.add(rubric.lab)
        for entry in copiedEntries() {
            let base = course.root + "/" + entry
            var paths = [base]
            if let enumerator = FileManager.default.enumerator(atPath: base) {
                while let next = enumerator.nextObject() as? String { paths.append(base + "/" + next) }
            }
            for path in paths.sorted() {
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                hash.add("\(path)|\(info.st_size)|\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)")
            }
        }
        return String(hash.value, radix: 16)
    }

    private func findTestBundle() throws(GradingError) -> String {
        let debug = templateFolder + "/.build/debug"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: debug)) ?? []
        guard let bundle = names.first(where: { $0.hasSuffix("PackageTests.xctest") }) else {
            throw GradingError("lab \(rubric.lab): the build produced no test bundle in .build/debug")
        }
        return ".build/debug/" + bundle
    }
}

/// `cp -a --reflink=auto`: keeps timestamps (so the copy's build stays warm) and shares blocks where the
/// file system can.
func copyTree(_ source: String, to destination: String) throws(GradingError) {
    let result = try ChildProcess(["/bin/cp", "-a", "--reflink=auto", source, destination]).run()
    guard result.termination == .exited(0) else {
        throw GradingError("cannot copy \(source) to \(destination): \(result.standardError.text.split(separator: "\n").first ?? "")")
    }
}

func swiftExecutable() -> String {
    Sandbox.findExecutable("swift") ?? "/usr/bin/swift"
}

/// 64-bit FNV-1a: a change detector for file listings, not a cryptographic hash.
struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
        value ^= 0x0A
        value = value &* 0x0000_0100_0000_01B3
    }
}

/// Picks the compiler's errors out of `swift build` output, with workspace paths made relative.
enum CompilerDiagnostics {
    static func errors(in output: String, workspace: String, labFolder: String? = nil) -> String {
        var lines: [String] = []
        var seen = Set<String>()
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.contains("error:") else { continue }
            var text = String(line)
            if let labFolder { text = text.replacingOccurrences(of: workspace + "/" + labFolder + "/", with: "") }
            text = text.replacingOccurrences(of: workspace + "/", with: "")
            if seen.insert(text).inserted { lines.append(text) }
            if lines.count == 40 { lines.append("… more errors not shown"); break }
        }
        if lines.isEmpty {
            let tail = output.split(separator: "\n").suffix(3).joined(separator: " | ")
            return "swift build failed without a compiler error: \(tail)"
        }
        return lines.joined(separator: "\n")
    }
}
