import Foundation
import Yams

extension Rubric {
    /// Reads and validates a rubric file; the error names the file and the first problem found.
    public init(contentsOfFile path: String) throws(GradingError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GradingError("\(path): cannot read the rubric")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw GradingError("\(path): the rubric is not UTF-8 text")
        }
        try self.init(yaml: text, source: path)
    }

    /// Parses rubric YAML. Unknown keys are errors, so a misspelt `point:` cannot silently grade as zero.
    public init(yaml: String, source: String = "rubric") throws(GradingError) {
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            let detail = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw GradingError("\(source): not valid YAML: \(detail)")
        }
        guard let top = document as? [String: Any] else {
            throw GradingError("\(source): expected a mapping with lab, slug, title, student_files and tests")
        }
        let reader = FieldReader(fields: top, context: source)
        try reader.rejectUnknown(["lab", "slug", "title", "student_files", "tests", "sandbox"])
        lab = try reader.labNumber("lab")
        slug = try reader.string("slug")
        title = try reader.string("title")
        studentFiles = try reader.stringList("student_files")
        if top["sandbox"] != nil {
            let name = try reader.string("sandbox")
            guard let profile = SandboxProfile(rawValue: name) else {
                throw GradingError("\(source): sandbox must be one of \(SandboxProfile.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
            }
            sandbox = profile
        }
        guard let rawTests = top["tests"] else { throw GradingError("\(source): missing `tests`") }
        guard let testList = rawTests as? [Any], !testList.isEmpty else {
            throw GradingError("\(source): `tests` must be a non-empty list")
        }
        var tests: [Test] = []
        for (index, item) in testList.enumerated() {
            guard let fields = item as? [String: Any] else {
                throw GradingError("\(source): tests[\(index)] must be a mapping")
            }
            let label = (fields["id"] as? String).map { "test `\($0)`" } ?? "tests[\(index)]"
            let test = FieldReader(fields: fields, context: "\(source): \(label)")
            try test.rejectUnknown(["id", "name", "filter", "points", "visibility", "timeout", "memory", "processes"])
            tests.append(Test(
                id: try test.string("id"),
                name: try test.string("name"),
                filter: try test.string("filter"),
                points: try test.number("points"),
                visibility: try test.visibility("visibility"),
                timeout: try test.optionalNumber("timeout") ?? Rubric.defaultTimeout,
                memoryBytes: try test.optionalMemory("memory") ?? Rubric.defaultMemoryBytes,
                maxProcesses: Int(try test.optionalNumber("processes") ?? Double(Rubric.defaultMaxProcesses))))
        }
        self.tests = tests
        try validate(source: source)
    }

    /// Checks what the types alone cannot: identifiers, paths, limits, filters.
    public func validate(source: String = "rubric") throws(GradingError) {
        guard lab.count == 2, lab.allSatisfy(\.isASCIIDigitCharacter) else {
            throw GradingError("\(source): lab must be two digits like \"01\", got \"\(lab)\"")
        }
        guard slug.hasPrefix("\(lab)-"), slug.count > 3,
              slug.allSatisfy({ $0.isASCIILowercaseLetterOrDigit || $0 == "-" }) else {
            throw GradingError("\(source): slug must look like \"\(lab)-topic-name\" (lowercase, digits, dashes), got \"\(slug)\"")
        }
        guard !studentFiles.isEmpty else { throw GradingError("\(source): student_files must list at least one file") }
        var seenFiles = Set<String>()
        for file in studentFiles {
            let parts = file.split(separator: "/", omittingEmptySubsequences: false)
            guard !file.hasPrefix("/"), !parts.contains(".."), !parts.contains("."), !parts.contains(""),
                  !file.contains("\\") else {
                throw GradingError("\(source): student file \"\(file)\" must be a plain path relative to the lab folder")
            }
            guard seenFiles.insert(file).inserted else {
                throw GradingError("\(source): student file \"\(file)\" is listed twice")
            }
        }
        var seenIDs = Set<String>()
        for test in tests {
            let context = "\(source): test `\(test.id)`"
            guard !test.id.isEmpty, test.id.allSatisfy({ $0.isASCIILowercaseLetterOrDigit || "-_.".contains($0) }) else {
                throw GradingError("\(context): id must use lowercase letters, digits, '-', '_' or '.'")
            }
            guard seenIDs.insert(test.id).inserted else { throw GradingError("\(context): id is used twice") }
            guard test.points.isFinite, test.points >= 0 else {
                throw GradingError("\(context): points must be a number ≥ 0, got \(test.points)")
            }
            guard test.timeout.isFinite, test.timeout > 0, test.timeout <= 3600 else {
                throw GradingError("\(context): timeout must be between 0 and 3600 seconds, got \(test.timeout)")
            }
            guard test.memoryBytes >= 16 << 20 else {
                throw GradingError("\(context): memory must be at least 16M, got \(test.memoryBytes) bytes")
            }
            guard test.maxProcesses >= 4, test.maxProcesses <= 100_000 else {
                throw GradingError("\(context): processes must be between 4 and 100000, got \(test.maxProcesses)")
            }
            guard !test.filter.isEmpty else { throw GradingError("\(context): filter is empty") }
            do {
                _ = try NSRegularExpression(pattern: test.filter)
            } catch {
                throw GradingError("\(context): filter \"\(test.filter)\" is not a valid regular expression")
            }
        }
    }
}

/// Reads typed fields out of a YAML mapping with errors that name the file, the test and the key.
private struct FieldReader {
    let fields: [String: Any]
    let context: String

    func rejectUnknown(_ known: Set<String>) throws(GradingError) {
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw GradingError("\(context): unknown key `\(unknown)` (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ key: String) throws(GradingError) -> String {
        guard let value = fields[key] else { throw GradingError("\(context): missing `\(key)`") }
        guard let text = value as? String, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw GradingError("\(context): `\(key)` must be a non-empty string")
        }
        return text
    }

    /// `lab: "01"`; an unquoted `lab: 1` is read as 01 rather than rejected, since YAML makes it an integer.
    func labNumber(_ key: String) throws(GradingError) -> String {
        if let number = fields[key] as? Int, (0...99).contains(number) {
            return number < 10 ? "0\(number)" : "\(number)"
        }
        return try string(key)
    }

    func stringList(_ key: String) throws(GradingError) -> [String] {
        guard let value = fields[key] else { throw GradingError("\(context): missing `\(key)`") }
        guard let list = value as? [Any] else { throw GradingError("\(context): `\(key)` must be a list of paths") }
        var strings: [String] = []
        for item in list {
            guard let text = item as? String else { throw GradingError("\(context): `\(key)` must contain only strings") }
            strings.append(text)
        }
        return strings
    }

    func number(_ key: String) throws(GradingError) -> Double {
        guard fields[key] != nil else { throw GradingError("\(context): missing `\(key)`") }
        guard let value = try optionalNumber(key) else { throw GradingError("\(context): missing `\(key)`") }
        return value
    }

    func optionalNumber(_ key: String) throws(GradingError) -> Double? {
        guard let value = fields[key] else { return nil }
        if value is Bool { throw GradingError("\(context): `\(key)` must be a number") }
        if let integer = value as? Int { return Double(integer) }
        if let real = value as? Double { return real }
        throw GradingError("\(context): `\(key)` must be a number, got \"\(value)\"")
    }

    func visibility(_ key: String) throws(GradingError) -> Rubric.Visibility {
        guard let value = fields[key] else { return .visible }
        guard let text = value as? String, let visibility = Rubric.Visibility(rawValue: text) else {
            let allowed = Rubric.Visibility.allCases.map(\.rawValue).joined(separator: ", ")
            throw GradingError("\(context): `\(key)` must be one of \(allowed), got \"\(value)\"")
        }
        return visibility
    }

    /// `512M`, `2G`, `65536K` or a byte count.
    func optionalMemory(_ key: String) throws(GradingError) -> UInt64? {
        guard let value = fields[key] else { return nil }
        if let bytes = value as? Int, bytes > 0 { return UInt64(bytes) }
        guard let text = value as? String, let bytes = MemorySize.parse(text) else {
            throw GradingError("\(context): `\(key)` must be a size like 512M or 2G, got \"\(value)\"")
        }
        return bytes
    }
}

/// Byte sizes written the way `ulimit` and container tools write them.
public enum MemorySize {
    public static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return nil }
        let shifts: [Character: UInt64] = ["K": 10, "M": 20, "G": 30, "k": 10, "m": 20, "g": 30]
        if let shift = shifts[last] {
            guard let count = UInt64(trimmed.dropLast()), count > 0, count < (1 << (63 - shift)) else { return nil }
            return count << shift
        }
        return UInt64(trimmed).flatMap { $0 > 0 ? $0 : nil }
    }

    public static func describe(_ bytes: UInt64) -> String {
        if bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        return "\(bytes) bytes"
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
    var isASCIILowercaseLetterOrDigit: Bool { ("a"..."z").contains(self) || isASCIIDigitCharacter }
}
