import Foundation

/// A course checkout: a Swift package with `Labs/`, `Grader/Rubrics`, `Grader/Solutions` and
/// `Grader/HiddenTests` laid out as shared/ARCHITECTURE.md describes.
public struct Course: Equatable, Sendable {
    public var root: String

    public init(root: String) throws(GradingError) {
        let standardized = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        let manager = FileManager.default
        guard manager.fileExists(atPath: standardized + "/Package.swift") else {
            throw GradingError("\(root): not a course package (no Package.swift)")
        }
        guard manager.fileExists(atPath: standardized + "/Grader/Rubrics") else {
            throw GradingError("\(root): not a course package (no Grader/Rubrics folder)")
        }
        self.root = standardized
    }

    /// The nearest folder at or above `directory` that is a course.
    public static func locate(from directory: String = FileManager.default.currentDirectoryPath) throws(GradingError) -> Course {
        var url = URL(fileURLWithPath: directory).standardizedFileURL
        while true {
            if let course = try? Course(root: url.path) { return course }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path {
                throw GradingError("\(directory): not inside a VirtLab checkout (no Package.swift with Grader/Rubrics above it); pass --course")
            }
            url = parent
        }
    }

    public var rubricsFolder: String { root + "/Grader/Rubrics" }

    /// Every rubric file, sorted by lab number.
    public func rubricFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: rubricsFolder)) ?? []
        return names.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted().map { rubricsFolder + "/" + $0 }
    }

    /// Finds a lab by number (`1`, `01`) or folder name (`01-isa-interpreter`).
    public func rubric(forLab lab: String) throws(GradingError) -> Rubric {
        let files = rubricFiles()
        let known = files.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        var number = lab
        if let value = Int(lab), (0...99).contains(value) { number = value < 10 ? "0\(value)" : "\(value)" }
        let matches = files.filter {
            let slug = URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent
            return slug == lab || slug.hasPrefix(number + "-")
        }
        guard matches.count == 1, let file = matches.first else {
            let list = known.isEmpty ? "none" : known.joined(separator: ", ")
            throw GradingError("lab \(lab): no rubric Grader/Rubrics/\(number)-*.yml in \(root) (labs: \(list))")
        }
        let rubric = try Rubric(contentsOfFile: file)
        let slug = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        guard rubric.slug == slug else {
            throw GradingError("\(file): slug \"\(rubric.slug)\" does not match the file name \"\(slug)\"")
        }
        guard FileManager.default.fileExists(atPath: labFolder(rubric)) else {
            throw GradingError("lab \(lab): the rubric names \(rubric.slug) but Labs/\(rubric.slug) does not exist")
        }
        return rubric
    }

    public func allRubrics() throws(GradingError) -> [Rubric] {
        var rubrics: [Rubric] = []
        for file in rubricFiles() {
            rubrics.append(try rubric(forLab: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent))
        }
        return rubrics
    }

    public func labFolder(_ rubric: Rubric) -> String { root + "/Labs/" + rubric.slug }
    public func solutionFolder(_ rubric: Rubric) -> String { root + "/Grader/Solutions/" + rubric.slug }
    public func hiddenTestsFolder(_ rubric: Rubric) -> String { root + "/Grader/HiddenTests/" + rubric.slug }
}
