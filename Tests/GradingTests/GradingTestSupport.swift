import Foundation
@testable import Grading

/// Paths and peers the grading tests share.
enum Fixtures {
    /// Tests/GradingTests/Fixtures
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    /// A miniature course following VirtLab's lab layout and env contract.
    static let miniCourse = folder + "/MiniCourse"
    /// One folder per attack, each a lab-folder submission of the mini course.
    static let adversarial = folder + "/Adversarial"
    /// The repository root.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    /// The JUnit schemas ship beside the repository, in ../shared/schemas.
    static let schemas = URL(fileURLWithPath: repository).deletingLastPathComponent().appendingPathComponent("shared/schemas").path
    static let jenkinsSchema = schemas + "/jenkins-junit-10.xsd"
    static let antSchema = schemas + "/windyroad-JUnit.xsd"

    static var haveSchemasAndXmllint: Bool {
        FileManager.default.fileExists(atPath: jenkinsSchema) && FileManager.default.fileExists(atPath: antSchema)
            && Sandbox.findExecutable("xmllint") != nil
    }

    static var havePython: Bool { Sandbox.findExecutable("python3") != nil }

    static var haveJunitparser: Bool {
        guard let python = Sandbox.findExecutable("python3") else { return false }
        return (try? ChildProcess([python, "-c", "import junitparser"]).run().termination) == .exited(0)
    }

    /// A fresh temporary folder, removed by the caller with `remove`.
    static func temporaryFolder(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "vlab-grading-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    /// Runs a command and returns (exit status, stdout + stderr).
    @discardableResult
    static func run(_ arguments: [String]) throws -> (ProcessTermination, String) {
        let result = try ChildProcess(arguments).run()
        return (result.termination, result.standardOutput.text + result.standardError.text)
    }

    static func python(_ script: String, _ arguments: [String] = []) throws -> (ProcessTermination, String) {
        try run([Sandbox.findExecutable("python3") ?? "python3", "-c", script] + arguments)
    }
}

#if canImport(FoundationXML)
import FoundationXML
#endif

enum XMLDocumentCompat {
    static func parse(_ data: Data) throws -> XMLDocument { try XMLDocument(data: data) }
}
