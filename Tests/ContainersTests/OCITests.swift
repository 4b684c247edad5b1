import Foundation
import Testing

@testable import Containers

@Suite("OCI runtime CLI", .enabled(if: Harness.canRunContainers, Comment(rawValue: Harness.skipMessage)))
struct OCITests {
    func makeBundle(_ name: String, args: [String]) throws -> (bundle: String, output: String) {
        let bundle = NSTemporaryDirectory() + "vlab-test-bundle-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: bundle)
        let output = bundle + "/out"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let config: [String: Any] = [
            "ociVersion": "1.0.2",
            "root": ["path": Harness.rootfs, "readonly": false],
            "hostname": "oci-box",
            "process": [
                "terminal": false, "user": ["uid": 0, "gid": 0], "args": args, "cwd": "/",
                "env": ["PATH=/bin:/usr/bin"], "noNewPrivileges": true,
                "capabilities": ["bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]],
                "rlimits": [["type": "RLIMIT_NOFILE", "soft": 256, "hard": 256]],
            ],
            "mounts": [
                ["destination": "/proc", "type": "proc", "source": "proc"],
                ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]],
                ["destination": "/out", "type": "bind", "source": output, "options": ["rbind", "rw"]],
            ],
            "linux": [
                "namespaces": [["type": "pid"], ["type": "mount"], ["type": "uts"], ["type": "ipc"], ["type": "network"]],
                "resources": ["memory": ["limit": 67_108_864], "pids": ["limit": 16], "cpu": ["quota": 50000, "period": 100000],
                              "devices": [["allow": false, "access": "rwm"]]],
                "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: config)
        try data.write(to: URL(fileURLWithPath: bundle + "/config.json"))
        return (bundle, output)
    }

    func state(_ root: String, _ id: String) -> [String: Any] {
        let result = Harness.run(["container", "state", "--state-root", root, id])
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
    }

    @Test("create, start, state, delete run the bundle's process with its config")
    func lifecycle() throws {
        let root = Harness.stateRoot("oci")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (bundle, output) = try makeBundle("life", args: [
            "/bin/sh", "-c", "hostname > /out/result; ulimit -n >> /out/result; grep CapEff /proc/self/status >> /out/result",
        ])
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let created = Harness.run(["container", "create", "--state-root", root, "--bundle", bundle, "life"], discardOutput: true)
        #expect(created.status == 0)
        let before = state(root, "life")
        #expect(before["status"] as? String == "created")
        #expect(before["id"] as? String == "life")
        #expect(before["bundle"] as? String == bundle)
        #expect((before["pid"] as? Int ?? 0) > 0)
        #expect(!FileManager.default.fileExists(atPath: output + "/result"), "the process ran before start")

        let duplicate = Harness.run(["container", "create", "--state-root", root, "--bundle", bundle, "life"], discardOutput: false)
        #expect(duplicate.status == 125 && duplicate.stderr.contains("already in use"))

        #expect(Harness.run(["container", "start", "--state-root", root, "life"]).status == 0)
        for _ in 0..<200 where state(root, "life")["status"] as? String != "stopped" { usleep(10_000) }
        #expect(state(root, "life")["status"] as? String == "stopped")
        #expect(state(root, "life")["pid"] == nil)
        let text = try String(contentsOfFile: output + "/result", encoding: .utf8)
        #expect(text == "oci-box\n256\nCapEff:\t0000000000000020\n")
        #expect(Harness.run(["container", "delete", "--state-root", root, "life"]).status == 0)
        Harness.assertNothingLeft(root, id: "life")
        #expect(Harness.run(["container", "state", "--state-root", root, "life"]).stderr == "vlab container: container 'life' does not exist\n")
    }

    @Test("kill and delete a running container")
    func killRunning() throws {
        let root = Harness.stateRoot("ocikill")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (bundle, _) = try makeBundle("kill", args: ["/bin/sleep", "60"])
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        #expect(Harness.run(["container", "create", "--state-root", root, "--bundle", bundle, "sleeper"], discardOutput: true).status == 0)
        #expect(Harness.run(["container", "start", "--state-root", root, "sleeper"]).status == 0)
        #expect(state(root, "sleeper")["status"] as? String == "running")
        let refused = Harness.run(["container", "delete", "--state-root", root, "sleeper"])
        #expect(refused.status == 125 && refused.stderr.contains("still running"))
        #expect(Harness.run(["container", "kill", "--state-root", root, "sleeper", "KILL"]).status == 0)
        for _ in 0..<200 where state(root, "sleeper")["status"] as? String != "stopped" { usleep(10_000) }
        #expect(state(root, "sleeper")["status"] as? String == "stopped")
        #expect(Harness.run(["container", "delete", "--state-root", root, "sleeper"]).status == 0)
        Harness.assertNothingLeft(root, id: "sleeper")
    }
}

@Suite("OCI config.json parsing")
struct OCIParsingTests {
    func parse(_ json: String) -> Result<ContainerConfiguration, ContainerError> {
        do throws(ContainerError) {
            return .success(try OCIBundle.parse(Data(json.utf8), bundle: "/b", id: "x"))
        } catch { return .failure(error) }
    }

    let minimal = """
        {"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},
         "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}],"resources":{"memory":{"limit":1048576},"cpu":{"quota":25000,"period":100000}}}}
        """

    @Test func minimalBundle() throws {
        let configuration = try parse(minimal).get()
        #expect(configuration.rootfs == "/b/rootfs")
        #expect(configuration.process.arguments == ["sh"])
        #expect(configuration.limits.memoryBytes == 1_048_576)
        #expect(configuration.limits.cpus == 0.25)
        #expect(configuration.namespaces == [.pid, .mount])
    }

    @Test(arguments: [
        (#"{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","bogus":1},"linux":{}}"#, "unsupported field process.bogus"),
        (#"{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/","terminal":true},"linux":{}}"#, "process.terminal true is not supported"),
        (#"{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":[],"cwd":"/"},"linux":{}}"#, "process.args must name a command"),
        (#"{"ociVersion":"2.0.0","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/"},"linux":{}}"#, "ociVersion 2.0.0 is not supported"),
        (#"{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"user"},{"type":"pid"},{"type":"mount"}]}}"#, "type 'user' is not supported"),
        (#"{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"pid"},{"type":"mount"}],"resources":{"memory":{"limit":"lots"}}}}"#, "linux.resources.memory.limit must be an integer"),
        (#"{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["sh"],"cwd":"/"},"linux":{"seccomp":{}}}"#, "linux.seccomp is not supported"),
        ("{not json", "not valid JSON"),
    ])
    func rejected(json: String, message: String) {
        guard case .failure(let error) = parse(json) else {
            Issue.record("accepted: \(json)")
            return
        }
        #expect(error.message.contains(message), "\(error.message)")
    }
}

@Suite("Sizes and ids")
struct InputTests {
    @Test func sizes() throws {
        #expect(try ByteSize.parse("64M") == 64 << 20)
        #expect(try ByteSize.parse("1g") == 1 << 30)
        #expect(try ByteSize.parse("512k") == 512 << 10)
        #expect(try ByteSize.parse("4096") == 4096)
        for bad in ["", "M", "12Q", "-5M", "0", "99999999999999999999G", "1.5G"] {
            #expect(throws: ContainerError.self) { try ByteSize.parse(bad) }
        }
    }

    @Test func ids() throws {
        try ContainerID.validate("web-1.a_b")
        for bad in ["", ".hidden", "a/b", "../x", String(repeating: "a", count: 65), "sp ace"] {
            #expect(throws: ContainerError.self) { try ContainerID.validate(bad) }
        }
    }
}
