#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Grades a folder of submissions in parallel and writes, inside the output folder only:
/// `<submission>/report.json`, `junit.xml`, `results.json` and `report.txt` per submission, and the class CSV
/// (`class.csv`, or `shard-i-of-n.csv` plus a `shard-i-of-n.json` manifest when sharded, for `merge`).
public struct BatchGrader: Sendable {
    public let grader: Grader

    public init(grader: Grader) {
        self.grader = grader
    }

    /// Submissions in a folder: its sub-folders and archives, sorted by name, dot-files skipped.
    public static func submissions(in folder: String) throws(GradingError) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw GradingError("\(folder): cannot read the submissions folder")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder + "/" + $0 }.filter { path in
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            return exists && (isDirectory.boolValue || ArchiveReader.isArchive(path))
        }
    }

    /// A file-system-safe folder name for a submission's reports.
    public static func reportFolderName(for submission: String) -> String {
        var name = URL(fileURLWithPath: submission).lastPathComponent
        for suffix in [".tar.gz", ".tgz", ".zip", ".tar"] where name.lowercased().hasSuffix(suffix) {
            name = String(name.dropLast(suffix.count))
            break
        }
        let safe = name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }
        let result = String(safe).trimmingCharacters(in: CharacterSet(charactersIn: "."))
        return result.isEmpty ? "submission" : result
    }

    public func run(submissions: [String], outputFolder: String, jobs: Int, shard: Shard?,
                    progress: @escaping @Sendable (_ done: Int, _ total: Int, _ latest: String) -> Void = { _, _, _ in })
        throws(GradingError) -> [ClassRow] {
        let selected = shard?.select(submissions) ?? submissions
        let state = Mutex<(next: Int, rows: [ClassRow], failure: GradingError?)>((0, [], nil))
        let workers = max(1, min(jobs, selected.count))
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread { [grader] in
                defer { group.leave() }
                while true {
                    let index: Int? = state.withLock { state in
                        guard state.failure == nil, state.next < selected.count else { return nil }
                        state.next += 1
                        return state.next - 1
                    }
                    guard let index else { return }
                    let path = selected[index]
                    let name = BatchGrader.reportFolderName(for: path)
                    let row: ClassRow
                    do {
                        let report = try grader.grade(submission: path)
                        try BatchGrader.writeReports(report, to: outputFolder + "/" + name)
                        row = ClassRow(submission: name, report: report, rejection: nil)
                    } catch let error as GradingError {
                        // Bad input is one student's problem: their row says why, the batch goes on.
                        let rejection = ClassRow(submission: name, report: nil, rejection: error.message)
                        do {
                            try AtomicFile.write(error.message + "\n", to: outputFolder + "/" + name + "/rejected.txt")
                        } catch {
                            let failure = (error as? GradingError) ?? GradingError("\(error)")
                            state.withLock { $0.failure = failure }
                        }
                        row = rejection
                    } catch {
                        row = ClassRow(submission: name, report: nil, rejection: "\(error)")
                    }
                    let done = state.withLock { state in
                        state.rows.append(row)
                        return state.rows.count
                    }
                    progress(done, selected.count, name)
                }
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
        group.wait()
        let (rows, failure) = state.withLock { ($0.rows, $0.failure) }
        if let failure { throw failure }
        let csv = ClassRoster.csv(rows: rows, rubric: grader.rubric)
        if let shard {
            try AtomicFile.write(csv, to: outputFolder + "/\(shard.fileStem).csv")
            let manifest = ShardManifest(lab: grader.rubric.slug, shard: shard.index, shardCount: shard.count,
                                         submissions: rows.map(\.submission).sorted())
            try AtomicFile.write(try encode(manifest), to: outputFolder + "/\(shard.fileStem).json")
        } else {
            try AtomicFile.write(csv, to: outputFolder + "/class.csv")
        }
        return rows.sorted { $0.submission < $1.submission }
    }

    /// The four files of one submission, each written atomically.
    public static func writeReports(_ report: SubmissionReport, to folder: String,
                                    junit: String? = nil, gradescope: String? = nil) throws(GradingError) {
        try AtomicFile.write(try encode(report), to: folder + "/report.json")
        try AtomicFile.write(JUnitReport.data(for: [report]), to: junit ?? folder + "/junit.xml")
        try AtomicFile.write(GradescopeReport.data(for: report), to: gradescope ?? folder + "/results.json")
        try AtomicFile.write(TerminalTable.render(report), to: folder + "/report.txt")
    }
}

/// What one shard graded, so `merge` can tell a missing shard from an empty one.
public struct ShardManifest: Equatable, Sendable, Codable {
    public var lab: String
    public var shard: Int
    public var shardCount: Int
    public var submissions: [String]
}

/// `vlab grade merge`: joins shard outputs (copied into one folder, or given as several folders) into one
/// class CSV and one JUnit file, checking that every shard 1…n is there exactly once.
public enum ShardMerge {
    public struct Result: Sendable {
        public var rows: [ClassRow]
        public var shardCount: Int
    }

    public static func merge(folders: [String], rubric: Rubric, outputFolder: String) throws(GradingError) -> Result {
        var manifests: [ShardManifest] = []
        var rows: [String: ClassRow] = [:]
        for folder in folders {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
                throw GradingError("\(folder): cannot read the shard output folder")
            }
            for name in names.sorted() where name.hasPrefix("shard-") && name.hasSuffix(".json") {
                let path = folder + "/" + name
                guard let data = FileManager.default.contents(atPath: path),
                      let manifest = try? JSONDecoder().decode(ShardManifest.self, from: data) else {
                    throw GradingError("\(path): not a shard manifest")
                }
                guard manifest.lab == rubric.slug else {
                    throw GradingError("\(path): is for lab \(manifest.lab), not \(rubric.slug)")
                }
                manifests.append(manifest)
                for submission in manifest.submissions {
                    let base = folder + "/" + submission
                    if let data = FileManager.default.contents(atPath: base + "/report.json") {
                        guard let report = try? JSONDecoder().decode(SubmissionReport.self, from: data) else {
                            throw GradingError("\(base)/report.json: not a submission report")
                        }
                        rows[submission] = ClassRow(submission: submission, report: report, rejection: nil)
                    } else if let text = try? String(contentsOfFile: base + "/rejected.txt", encoding: .utf8) {
                        rows[submission] = ClassRow(submission: submission, report: nil,
                                                    rejection: text.trimmingCharacters(in: .whitespacesAndNewlines))
                    } else {
                        throw GradingError("\(base): the shard lists this submission but its report.json is missing")
                    }
                }
            }
        }
        guard let count = manifests.first?.shardCount else {
            throw GradingError("\(folders.joined(separator: ", ")): no shard-i-of-n.json manifests found")
        }
        let indices = manifests.map(\.shard)
        guard manifests.allSatisfy({ $0.shardCount == count }) else {
            throw GradingError("shards disagree on their count: \(manifests.map { "\($0.shard)/\($0.shardCount)" }.joined(separator: ", "))")
        }
        if let duplicate = Set(indices.filter { index in indices.filter { $0 == index }.count > 1 }).min() {
            throw GradingError("shard \(duplicate)/\(count) appears twice")
        }
        let missing = (1...count).filter { !indices.contains($0) }
        guard missing.isEmpty else {
            throw GradingError("shard \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) missing: merge needs all \(count)")
        }
        let sorted = rows.values.sorted { $0.submission < $1.submission }
        try AtomicFile.write(ClassRoster.csv(rows: sorted, rubric: rubric), to: outputFolder + "/class.csv")
        try AtomicFile.write(JUnitReport.data(for: sorted.compactMap(\.report)), to: outputFolder + "/junit.xml")
        return Result(rows: sorted, shardCount: count)
    }
}

func encode<T: Encodable>(_ value: T) throws(GradingError) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
        return try encoder.encode(value)
    } catch {
        throw GradingError("cannot encode a report: \(error)")
    }
}
