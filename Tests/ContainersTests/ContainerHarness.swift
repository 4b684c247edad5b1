import Foundation
import Testing

@testable import Containers

/// Runs the real `vlab` binary (built beside the test bundle) as a subprocess: the
/// runtime re-executes itself as the container init, and the SIGKILL tests need the
/// runtime in its own process anyway.
enum Harness {
    static var vlab: String {
        // swift test runs the bundle from .build/<config>/; the executable sits beside it.
        let beside = ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "")
        let directory = URL(fileURLWithPath: beside).deletingLastPathComponent().path
        return directory + "/vlab"
    }

    static let isRoot = getuid() == 0
    static let hasBusybox = FileManager.default.isExecutableFile(atPath: "/bin/busybox")
    /// `vlab container` exists in this build (it is wired into the root command).
    static let hasContainerCommand: Bool = {
        guard FileManager.default.isExecutableFile(atPath: vlab) else { return false }
        return run(["container", "--help"]).status == 0
    }()
    #if os(Linux)
    static let isLinux = true
    #else
    static let isLinux = false
    #endif

    static let canRunContainers = isLinux && isRoot && hasBusybox && hasContainerCommand
    static let skipMessage =
        "needs Linux, root, /bin/busybox (apt-get install busybox-static) and a vlab binary with `container` beside the tests"

    /// A busybox root filesystem made once per test run with the project's script.
    static let rootfs: String = {
        let directory = NSTemporaryDirectory() + "vlab-test-rootfs-\(getpid())"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/make-busybox-rootfs.sh"
        let result = runProgram("/bin/sh", [script, directory])
        precondition(result.status == 0, "make-busybox-rootfs.sh failed: \(result.stderr)")
        return directory
    }()

    /// Each test gets its own state root so tests can run in parallel.
    static func stateRoot(_ name: String) -> String {
        NSTemporaryDirectory() + "vlab-test-state-\(getpid())-\(name)"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], discardOutput: Bool = false) -> Result {
        runProgram(vlab, arguments, discardOutput: discardOutput)
    }

    static func runProgram(_ path: String, _ arguments: [String], discardOutput: Bool = false) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe()
        // stderr goes to a file so one thread can drain stdout without a second reader.
        let errPath = NSTemporaryDirectory() + "vlab-test-stderr-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        if discardOutput {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        } else {
            process.standardOutput = out
            process.standardError = FileHandle(forWritingAtPath: errPath)
        }
        do { try process.run() } catch { return Result(status: -1, stdout: "", stderr: "\(error)") }
        var stdout = Data()
        if !discardOutput { stdout = out.fileHandleForReading.readDataToEndOfFile() }
        process.waitUntilExit()
        let stderr = (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return Result(status: status, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// `vlab container run` with a state root and safe limits on every container.
    static func container(_ state: String, _ options: [String], _ command: [String]) -> Result {
        var arguments = ["container", "run", "--state-root", state, "--rootfs", rootfs]
        if !options.contains("--memory") { arguments += ["--memory", "128M"] }
        if !options.contains("--pids") { arguments += ["--pids", "64"] }
        return run(arguments + options + ["--"] + command)
    }

    /// Every cgroup directory named for container `id`, in any hierarchy.
    static func cgroupDirectories(for id: String) -> [String] {
        var found: [String] = []
        let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        for line in mountinfo.split(separator: "\n") where line.contains(" - cgroup") {
            let mountPoint = String(line.split(separator: " ")[4])
            guard let walker = FileManager.default.enumerator(atPath: mountPoint) else { continue }
            while let path = walker.nextObject() as? String {
                if path.hasSuffix("vlab-" + id) { found.append(mountPoint + "/" + path) }
                if path.split(separator: "/").count > 3 { walker.skipDescendants() }
            }
        }
        return found
    }

    /// Nothing of container `id` is left: no state directory, no cgroup, no mount.
    static func assertNothingLeft(_ state: String, id: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!FileManager.default.fileExists(atPath: state + "/" + id), "state directory of \(id) left behind", sourceLocation: sourceLocation)
        #expect(cgroupDirectories(for: id).isEmpty, "cgroups of \(id) left behind: \(cgroupDirectories(for: id))", sourceLocation: sourceLocation)
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        #expect(!mounts.contains(state), "a mount under \(state) is left on the host", sourceLocation: sourceLocation)
    }
}
