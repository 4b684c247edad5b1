import Foundation
import Testing

@testable import Containers

@Suite("Container runtime on the Linux kernel", .enabled(if: Harness.canRunContainers, Comment(rawValue: Harness.skipMessage)))
struct RuntimeTests {
    @Test("PID 1 view, hostname, loopback-only network")
    func isolation() {
        let state = Harness.stateRoot("isolation")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let result = Harness.container(state, ["--id", "iso", "--hostname", "testbox"], [
            "/bin/sh", "-c",
            "echo pid=$$; hostname; echo procs=$(ls /proc | grep -c '^[0-9]'); echo nets=$(ls /sys/class/net); cat /sys/class/net/lo/operstate",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "pid=1")
        #expect(lines.dropFirst().first == "testbox")
        // sh, ls and grep at most: none of the host's processes.
        let processes = Int(lines.first { $0.hasPrefix("procs=") }?.dropFirst(6) ?? "") ?? 99
        #expect(processes <= 4, "\(result.stdout)")
        #expect(lines.contains("nets=lo"), "\(result.stdout)")
        #expect(lines.last == "unknown", "loopback should be up: \(result.stdout)")  // "unknown" is lo's up state
        Harness.assertNothingLeft(state, id: "iso")

        let none = Harness.container(state, ["--id", "nonet", "--net", "none"], ["/bin/sh", "-c", "cat /sys/class/net/lo/operstate"])
        #expect(none.stdout == "down\n", "\(none.stdout) \(none.stderr)")
        Harness.assertNothingLeft(state, id: "nonet")
    }

    @Test("exit status passes through; runtime errors are one line with 125 and leave nothing")
    func exitStatus() {
        let state = Harness.stateRoot("status")
        defer { try? FileManager.default.removeItem(atPath: state) }
        #expect(Harness.container(state, ["--id", "st"], ["/bin/sh", "-c", "exit 42"]).status == 42)
        Harness.assertNothingLeft(state, id: "st")

        let notFound = Harness.container(state, ["--id", "nf"], ["no-such-command"])
        #expect(notFound.status == 125)
        #expect(notFound.stderr.contains("command 'no-such-command' not found"))
        #expect(notFound.stderr.split(separator: "\n").count == 1, "\(notFound.stderr)")
        Harness.assertNothingLeft(state, id: "nf")

        let missing = Harness.run(["container", "run", "--state-root", state, "--rootfs", "/nonexistent-rootfs", "--", "/bin/true"])
        #expect(missing.status == 125)
        #expect(missing.stderr == "vlab container: rootfs '/nonexistent-rootfs' does not exist\n")

        let file = Harness.run(["container", "run", "--state-root", state, "--rootfs", Harness.rootfs + "/bin/busybox", "--", "/bin/true"])
        #expect(file.stderr.contains("is not a directory"))

        let memory = Harness.container(state, ["--memory", "12Q"], ["/bin/true"])
        #expect(memory.status != 0)
        #expect(memory.stderr.contains("invalid size '12Q'"))

        let workdir = Harness.container(state, ["--id", "wd", "--workdir", "/nowhere"], ["/bin/true"])
        #expect(workdir.status == 125)
        #expect(workdir.stderr.contains("working directory '/nowhere' does not exist"))
        Harness.assertNothingLeft(state, id: "wd")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []).isEmpty)
    }

    @Test("a memory hog is OOM-killed and reported")
    func memoryLimit() {
        let state = Harness.stateRoot("memory")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let result = Harness.container(state, ["--id", "hog", "--memory", "32M"], [
            "/bin/sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\000' a); echo survived ${#x}",
        ])
        #expect(!result.stdout.contains("survived"))
        #expect(result.stderr.contains("out of memory: the 32 MiB memory limit was reached"), "\(result.status) \(result.stderr)")
        Harness.assertNothingLeft(state, id: "hog")
    }

    @Test("a fork bomb hits the process limit and the host stays usable")
    func forkBomb() {
        let state = Harness.stateRoot("forkbomb")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let result = Harness.container(state, ["--id", "bomb", "--pids", "16", "--timeout", "3"], [
            "/bin/sh", "-c", "bomb() { bomb | bomb & }; bomb; sleep 2",
        ])
        // Whether the bomb's last `sleep` got a process slot decides the status; the
        // report of refused forks is what matters.
        #expect(result.stderr.contains("the process limit (16) refused"), "\(result.status) \(result.stderr)")
        Harness.assertNothingLeft(state, id: "bomb")
        // The host can still start processes.
        #expect(Harness.runProgram("/bin/true", []).status == 0)
    }

    @Test("the CPU limit throttles a busy loop")
    func cpuLimit() {
        let state = Harness.stateRoot("cpu")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let result = Harness.container(state, ["--id", "cpu", "--cpus", "0.1", "-v"], [
            "/bin/sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let throttled = result.stderr.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.hasPrefix("cpu_throttled_periods=") }
            .flatMap { Int($0.split(separator: "=")[1].trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        #expect(throttled > 0, "\(result.stderr)")
        #expect(result.stderr.contains("limit cpus 0.1 (cgroup"))
        Harness.assertNothingLeft(state, id: "cpu")
    }

    @Test("writes land in the upper layer only; commit makes a layer; --copy leaves the image alone")
    func copyOnWrite() throws {
        let state = Harness.stateRoot("cow")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let scratch = NSTemporaryDirectory() + "vlab-test-cow-\(getpid())"
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let upper = scratch + "/upper"
        let written = Harness.container(state, ["--id", "cow", "--upper", upper], [
            "/bin/sh", "-c", "echo hello > /etc/greeting && rm /etc/hostname && cat /etc/greeting",
        ])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stdout == "hello\n")
        // The image is untouched; the upper layer has the new file and a whiteout.
        #expect(!FileManager.default.fileExists(atPath: Harness.rootfs + "/etc/greeting"))
        #expect(FileManager.default.fileExists(atPath: Harness.rootfs + "/etc/hostname"))
        #expect((try? String(contentsOfFile: upper + "/etc/greeting", encoding: .utf8)) == "hello\n")
        var info = stat()
        #expect(lstat(upper + "/etc/hostname", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR && info.st_rdev == 0)
        Harness.assertNothingLeft(state, id: "cow")
        #expect(!FileManager.default.fileExists(atPath: upper + ".work-cow"))

        let layer = scratch + "/layer"
        #expect(Harness.run(["container", "commit", upper, layer]).status == 0)
        let committed = Harness.container(state, ["--id", "layered", "--layer", layer], [
            "/bin/sh", "-c", "cat /etc/greeting; test -e /etc/hostname && echo hostname-present || echo hostname-gone",
        ])
        #expect(committed.stdout == "hello\nhostname-gone\n", "\(committed.stdout) \(committed.stderr)")
        let again = Harness.run(["container", "commit", upper, layer])
        #expect(again.status == 125 && again.stderr.contains("already exists"))

        let copied = Harness.container(state, ["--id", "copy", "--copy", "--layer", layer], [
            "/bin/sh", "-c", "cat /etc/greeting; echo more > /etc/other; test -e /etc/hostname || echo hostname-gone",
        ])
        #expect(copied.stdout == "hello\nhostname-gone\n", "\(copied.stdout) \(copied.stderr)")
        #expect(!FileManager.default.fileExists(atPath: Harness.rootfs + "/etc/other"))
        #expect(!FileManager.default.fileExists(atPath: layer + "/etc/other"))
        Harness.assertNothingLeft(state, id: "copy")

        let readonly = Harness.container(state, ["--id", "ro", "--readonly"], ["/bin/sh", "-c", "echo x > /etc/x"])
        #expect(readonly.status != 0)
        #expect(readonly.stderr.contains("Read-only file system"), "\(readonly.stderr)")
    }

    @Test("SIGKILL of the runtime: the container dies and the next invocation cleans up")
    func runtimeKilled() throws {
        let state = Harness.stateRoot("sigkill")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.vlab)
        process.arguments = ["container", "run", "--state-root", state, "--rootfs", Harness.rootfs, "--id", "victim",
                             "--memory", "64M", "--pids", "8", "--", "/bin/sleep", "60"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the container runs (its state records the pid and its cgroups exist).
        var containerPID: Int32?
        for _ in 0..<200 {
            if let record = try? StateStore(root: state).load("victim"), let pid = record.pid,
               (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.hasPrefix("/bin/sleep") == true
            {
                containerPID = pid
                break
            }
            usleep(20_000)
        }
        let pid = try #require(containerPID, "the container never started")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // The parent-death signal takes the container (and its PID namespace) down.
        var gone = false
        for _ in 0..<100 where !gone {
            gone = !StateStore.isAlive(pid, startTime: nil)
            if !gone { usleep(20_000) }
        }
        #expect(gone, "the container outlived its runtime")
        // What only a live runtime would have removed is still there ...
        #expect(FileManager.default.fileExists(atPath: state + "/victim"))
        #expect(!Harness.cgroupDirectories(for: "victim").isEmpty)
        // ... until the next runtime invocation collects it.
        #expect(Harness.container(state, ["--id", "next"], ["/bin/true"]).status == 0)
        Harness.assertNothingLeft(state, id: "victim")
        Harness.assertNothingLeft(state, id: "next")
    }

    @Test("SIGTERM to the runtime stops the container and cleans up")
    func runtimeTerminated() throws {
        let state = Harness.stateRoot("sigterm")
        defer { try? FileManager.default.removeItem(atPath: state) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.vlab)
        process.arguments = ["container", "run", "--state-root", state, "--rootfs", Harness.rootfs, "--id", "term",
                             "--pids", "8", "--", "/bin/sleep", "60"]
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        for _ in 0..<200 {
            if let record = try? StateStore(root: state).load("term"), let pid = record.pid,
               (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.hasPrefix("/bin/sleep") == true { break }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGTERM)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 137)
        #expect(stderr.contains("got SIGTERM"), "\(stderr)")
        Harness.assertNothingLeft(state, id: "term")
    }
}
