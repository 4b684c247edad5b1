import ArgumentParser
import Foundation

extension VLab {
    /// `vlab test 01`: run a lab's public tests on your copy of the lab.
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a lab's public tests (the same as `VLAB_LAB=NN swift test --filter LabNNPublicTests`).",
            discussion: """
                The lab's targets join the package only when VLAB_LAB names the lab, so the repository's \
                own `swift test` never builds an unfinished skeleton. Instructors can add --hidden (with \
                the Grader folder present) and --solution to run the hidden tests or the reference solution.
                """)

        @Argument(help: "The lab number, e.g. 01.")
        var lab: String

        @Option(help: ArgumentHelp("Only tests whose id matches this regular expression (within the lab's tests).", valueName: "REGEX"))
        var filter: String?

        @Flag(help: "Also run the hidden tests (instructors: needs Grader/HiddenTests).")
        var hidden = false

        @Flag(help: "Build the lab from the reference solution in Grader/Solutions instead of Labs/ (instructors).")
        var solution = false

        @Option(help: ArgumentHelp("The repository root (default: found from the current folder).", valueName: "DIR"))
        var root: String?

        func validate() throws {
            guard lab.count == 2, lab.allSatisfy(\.isNumber) else {
                throw ValidationError("lab '\(lab)' is not a two-digit lab number such as 01")
            }
        }

        func run() throws {
            let rootURL = try root.map { URL(fileURLWithPath: $0) } ?? LabRelease.repositoryRoot(from: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            let labs = (try? FileManager.default.contentsOfDirectory(atPath: rootURL.appendingPathComponent("Labs").path)) ?? []
            guard let slug = labs.sorted().first(where: { $0.hasPrefix("\(lab)-") }) else {
                throw CommandFailure("lab \(lab): no Labs/\(lab)-* folder in \(rootURL.path)")
            }
            let invocation = try LabTestInvocation(lab: lab, slug: slug, root: rootURL, filter: filter, hidden: hidden, solution: solution)
            FileHandle.standardError.write(Data("vlab test: \(invocation.commandLine)\n".utf8))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["swift"] + invocation.arguments
            process.currentDirectoryURL = rootURL
            process.environment = ProcessInfo.processInfo.environment.merging(invocation.environment) { _, new in new }
            do {
                try process.run()
            } catch {
                throw CommandFailure("cannot start `swift test`: \(error.localizedDescription)")
            }
            process.waitUntilExit()
            if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
        }
    }
}

/// The `swift test` command line and environment that run one lab's tests.
public struct LabTestInvocation: Equatable, Sendable {
    public var arguments: [String]
    public var environment: [String: String]

    public init(lab: String, slug: String, root: URL, filter: String?, hidden: Bool, solution: Bool) throws {
        var environment = ["VLAB_LAB": lab]
        if hidden {
            let hiddenTests = root.appendingPathComponent("Grader/HiddenTests/\(slug)")
            guard FileManager.default.fileExists(atPath: hiddenTests.path) else {
                throw CommandFailure("lab \(lab): --hidden needs \(hiddenTests.path), which this copy does not have")
            }
            environment["VLAB_HIDDEN_TESTS"] = "1"
        }
        if solution {
            let sources = root.appendingPathComponent("Grader/Solutions/\(slug)/Sources/Lab\(lab)")
            guard FileManager.default.fileExists(atPath: sources.path) else {
                throw CommandFailure("lab \(lab): --solution needs \(sources.path), which this copy does not have")
            }
            environment["VLAB_LAB_SOURCES"] = sources.path
        }
        let suites = hidden ? "Lab\(lab)(Public|Hidden)Tests" : "Lab\(lab)PublicTests"
        let pattern = filter.map { "\(suites)\\..*(\($0))" } ?? suites
        arguments = ["test", "--filter", pattern]
        self.environment = environment
    }

    /// As a shell would show it.
    public var commandLine: String {
        (environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + ["swift"] + arguments.map { $0.contains(where: { "()|\\*".contains($0) }) ? "'\($0)'" : $0 })
            .joined(separator: " ")
    }
}
