import ArgumentParser
import Foundation

/// Generating lab skeletons from reference solutions (the otter/nbgrader convention).
///
/// A reference solution file marks what the student writes:
///
///     func executeBranch(...) throws {
///         // BEGIN SOLUTION
///         // STUB: throw NotImplemented(lab: "01", "the branches in Executor.executeBranch")
///         ...the answer...
///         // END SOLUTION
///     }
///
/// The skeleton keeps everything outside the regions. Each region becomes its `// STUB: ` lines
/// (uncommented, at the region's indentation), so a skeleton compiles and each TODO fails with a
/// clear message when run. A region with no STUB line disappears entirely (for helpers only the
/// answer needs). Files without regions are copied unchanged.
public enum LabRelease {
    public static let beginMarker = "// BEGIN SOLUTION"
    public static let endMarker = "// END SOLUTION"
    public static let stubPrefix = "// STUB: "

    /// One lab: `Grader/Solutions/<slug>/Sources/<module>` generates `Labs/<slug>/Sources/<module>`.
    public struct Lab: Equatable, Sendable {
        public var slug: String
        public var number: String { String(slug.prefix(2)) }
        public var module: String { "Lab\(number)" }
        public func solutionDirectory(root: URL) -> URL {
            root.appendingPathComponent("Grader/Solutions/\(slug)/Sources/\(module)")
        }
        public func skeletonDirectory(root: URL) -> URL {
            root.appendingPathComponent("Labs/\(slug)/Sources/\(module)")
        }
    }

    /// The skeleton text for one solution file. Throws for unbalanced markers, naming the line.
    public static func skeleton(of source: String, fileName: String) throws -> String {
        var output: [Substring] = []
        var regionStart: Int? = nil
        var regionIndent = ""
        var takingStubs = false
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.hasPrefix(beginMarker) {
                if let start = regionStart {
                    throw CommandFailure("\(fileName):\(index + 1): BEGIN SOLUTION inside the region opened on line \(start + 1)")
                }
                regionStart = index
                regionIndent = String(line.prefix(line.count - trimmed.count))
                takingStubs = true
            } else if trimmed.hasPrefix(endMarker) {
                guard regionStart != nil else {
                    throw CommandFailure("\(fileName):\(index + 1): END SOLUTION without a BEGIN SOLUTION")
                }
                regionStart = nil
                takingStubs = false
            } else if regionStart != nil {
                if takingStubs, trimmed.hasPrefix(stubPrefix) {
                    output.append(Substring(regionIndent + trimmed.dropFirst(stubPrefix.count)))
                } else {
                    takingStubs = false
                }
            } else {
                output.append(line)
            }
        }
        if let start = regionStart {
            throw CommandFailure("\(fileName):\(start + 1): BEGIN SOLUTION is never closed by END SOLUTION")
        }
        return output.joined(separator: "\n")
    }

    /// The labs that have reference solutions, in order.
    public static func labs(root: URL) throws -> [Lab] {
        let solutions = root.appendingPathComponent("Grader/Solutions")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: solutions.path)
        } catch {
            throw CommandFailure("\(solutions.path): no Grader/Solutions folder here; run vlab release from the VirtLab repository")
        }
        return names.filter { $0.count > 3 && $0.prefix(2).allSatisfy(\.isNumber) && $0.dropFirst(2).first == "-" }
            .sorted().map { Lab(slug: $0) }
    }

    /// A difference between a committed skeleton and its generated form.
    public struct Drift: Equatable, Sendable, CustomStringConvertible {
        public var path: String
        public var problem: String
        public var description: String { "\(path): \(problem)" }
    }

    /// Every skeleton file that is missing, differs from its generated text, or has no solution file.
    public static func drift(root: URL) throws -> [Drift] {
        var drifts: [Drift] = []
        for lab in try labs(root: root) {
            let generated = try generate(lab, root: root)
            let skeletonDirectory = lab.skeletonDirectory(root: root)
            for (name, text) in generated.sorted(by: { $0.key < $1.key }) {
                let path = skeletonDirectory.appendingPathComponent(name).path
                guard let data = FileManager.default.contents(atPath: path) else {
                    drifts.append(Drift(path: path, problem: "missing (run `vlab release`)"))
                    continue
                }
                if String(decoding: data, as: UTF8.self) != text {
                    drifts.append(Drift(path: path, problem: "differs from the skeleton generated from \(lab.solutionDirectory(root: root).path)/\(name) (run `vlab release`)"))
                }
            }
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: skeletonDirectory.path)) ?? []
            for name in existing.sorted() where name.hasSuffix(".swift") && generated[name] == nil {
                drifts.append(Drift(path: skeletonDirectory.appendingPathComponent(name).path, problem: "has no reference solution file (run `vlab release` to remove it)"))
            }
        }
        return drifts
    }

    /// The skeleton files of one lab: file name -> text.
    public static func generate(_ lab: Lab, root: URL) throws -> [String: String] {
        let directory = lab.solutionDirectory(root: root)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".swift") }
        guard !names.isEmpty else { throw CommandFailure("\(directory.path): no Swift files in the reference solution") }
        var files: [String: String] = [:]
        for name in names {
            let path = directory.appendingPathComponent(name).path
            guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("\(path): cannot be read") }
            files[name] = try skeleton(of: String(decoding: data, as: UTF8.self), fileName: path)
        }
        return files
    }

    /// Writes every skeleton (atomically, file by file) and removes skeleton files that have no
    /// solution. Returns the paths written or removed.
    @discardableResult
    public static func release(root: URL) throws -> [String] {
        var changed: [String] = []
        for lab in try labs(root: root) {
            let generated = try generate(lab, root: root)
            let skeletonDirectory = lab.skeletonDirectory(root: root)
            try FileManager.default.createDirectory(at: skeletonDirectory, withIntermediateDirectories: true)
            for (name, text) in generated.sorted(by: { $0.key < $1.key }) {
                let path = skeletonDirectory.appendingPathComponent(name).path
                if FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) != text {
                    try writeOutput(Array(text.utf8), to: path)
                    changed.append(path)
                }
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: skeletonDirectory.path)) ?? []
            where name.hasSuffix(".swift") && generated[name] == nil {
                let path = skeletonDirectory.appendingPathComponent(name).path
                try FileManager.default.removeItem(atPath: path)
                changed.append(path)
            }
        }
        return changed
    }

    /// The repository root: the nearest folder from `start` up that holds Package.swift and Labs/ or Grader/.
    public static func repositoryRoot(from start: URL) throws -> URL {
        var directory = start.standardizedFileURL
        while true {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path),
               FileManager.default.fileExists(atPath: directory.appendingPathComponent("Labs").path)
                || FileManager.default.fileExists(atPath: directory.appendingPathComponent("Grader").path) {
                return directory
            }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path {
                throw CommandFailure("\(start.path): not inside the VirtLab repository (no Package.swift with a Labs or Grader folder above it)")
            }
            directory = parent
        }
    }
}

extension VLab {
    /// `vlab release [--check]`: regenerate the lab skeletons from the reference solutions.
    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Regenerate every lab skeleton (Labs/NN-*/Sources) from its reference solution (Grader/Solutions).",
            discussion: """
                Solution regions between `// BEGIN SOLUTION` and `// END SOLUTION` are replaced by their \
                `// STUB: ` lines. With --check nothing is written; the command lists the skeleton files \
                that differ from their generated form and exits non-zero if there are any.
                """)

        @Flag(help: "Only check that the committed skeletons are up to date.")
        var check = false

        @Option(help: ArgumentHelp("The repository root (default: found from the current folder).", valueName: "DIR"))
        var root: String?

        func run() throws {
            let rootURL = try root.map { URL(fileURLWithPath: $0) } ?? LabRelease.repositoryRoot(from: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            if check {
                let drifts = try LabRelease.drift(root: rootURL)
                for drift in drifts { print(drift) }
                if !drifts.isEmpty { throw ExitCode(1) }
                print("vlab release: every skeleton matches its reference solution")
            } else {
                let changed = try LabRelease.release(root: rootURL)
                for path in changed { print("wrote \(path)") }
                if changed.isEmpty { print("vlab release: every skeleton was already up to date") }
            }
        }
    }
}
