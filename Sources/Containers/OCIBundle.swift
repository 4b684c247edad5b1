import ContainerSupport
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Any JSON value, so `config.json` can be checked field by field with precise errors
/// (Codable alone would silently ignore fields this runtime does not implement).
enum JSONValue: Decodable, Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

/// A reader of one JSON object that remembers its path and refuses unknown keys.
struct ConfigObject {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws(ContainerError) {
        guard case .object(let fields) = value else { throw ContainerError("config.json: \(path) must be an object") }
        self.fields = fields
        self.path = path
    }

    func only(_ known: Set<String>) throws(ContainerError) {
        for key in fields.keys.sorted() where !known.contains(key) {
            throw ContainerError("config.json: unsupported field \(path.isEmpty ? key : path + "." + key)")
        }
    }

    func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func object(_ key: String) throws(ContainerError) -> ConfigObject? {
        guard let value = fields[key], value != .null else { return nil }
        return try ConfigObject(value, path: name(key))
    }

    func string(_ key: String) throws(ContainerError) -> String? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .string(let text) = value else { throw ContainerError("config.json: \(name(key)) must be a string") }
        return text
    }

    func bool(_ key: String) throws(ContainerError) -> Bool? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw ContainerError("config.json: \(name(key)) must be true or false") }
        return flag
    }

    func integer(_ key: String) throws(ContainerError) -> Int64? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 9.2e18 else {
            throw ContainerError("config.json: \(name(key)) must be an integer")
        }
        return Int64(number)
    }

    func array(_ key: String) throws(ContainerError) -> [JSONValue]? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .array(let items) = value else { throw ContainerError("config.json: \(name(key)) must be an array") }
        return items
    }

    func strings(_ key: String) throws(ContainerError) -> [String]? {
        guard let items = try array(key) else { return nil }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else { throw ContainerError("config.json: \(name(key))[\(index)] must be a string") }
            result.append(text)
        }
        return result
    }
}

/// An OCI runtime bundle: a directory with `config.json` (runtime-spec 1.x) and the root
/// filesystem it names. This runtime implements the subset listed in `only(...)` below
/// and rejects any other field with its path, rather than ignoring it.
public enum OCIBundle {
    public static func load(_ bundle: String, id: String) throws(ContainerError) -> ContainerConfiguration {
        let path = bundle + "/config.json"
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ContainerError("cannot read \(path)")
        }
        return try parse(data, bundle: bundle, id: id)
    }

    public static func parse(_ data: Data, bundle: String, id: String) throws(ContainerError) -> ContainerConfiguration {
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw ContainerError("config.json: not valid JSON")
        }
        let top = try ConfigObject(value, path: "")
        try top.only(["ociVersion", "process", "root", "hostname", "mounts", "linux", "annotations", "domainname"])
        guard let version = try top.string("ociVersion") else { throw ContainerError("config.json: ociVersion is required") }
        guard version.hasPrefix("1.") else { throw ContainerError("config.json: ociVersion \(version) is not supported (1.x is)") }

        guard let root = try top.object("root"), let rootPath = try root.string("path") else {
            throw ContainerError("config.json: root.path is required")
        }
        try root.only(["path", "readonly"])
        let rootfs = rootPath.hasPrefix("/") ? rootPath : bundle + "/" + rootPath

        guard let processObject = try top.object("process") else { throw ContainerError("config.json: process is required") }
        try processObject.only(["terminal", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges", "oomScoreAdj"])
        if try processObject.bool("terminal") == true {
            throw ContainerError("config.json: process.terminal true is not supported (no console socket); set it to false")
        }
        guard let args = try processObject.strings("args"), !args.isEmpty else {
            throw ContainerError("config.json: process.args must name a command")
        }
        guard let cwd = try processObject.string("cwd"), cwd.hasPrefix("/") else {
            throw ContainerError("config.json: process.cwd is required and must be absolute")
        }
        var process = ProcessConfiguration(arguments: args, environment: try processObject.strings("env") ?? [], workingDirectory: cwd)
        if let user = try processObject.object("user") {
            try user.only(["uid", "gid", "additionalGids", "umask"])
            guard let uid = try user.integer("uid"), let gid = try user.integer("gid"),
                let uid32 = UInt32(exactly: uid), let gid32 = UInt32(exactly: gid)
            else { throw ContainerError("config.json: process.user.uid and gid must be non-negative integers") }
            process.uid = uid32
            process.gid = gid32
        }
        process.noNewPrivileges = try processObject.bool("noNewPrivileges") ?? false
        if let capabilities = try processObject.object("capabilities") {
            try capabilities.only(["bounding", "effective", "permitted", "inheritable", "ambient"])
            // One set for all: the bounding set is what an exec can ever regain.
            if let bounding = try capabilities.strings("bounding") {
                process.capabilities = bounding
            } else {
                process.capabilities = try capabilities.strings("permitted") ?? []
            }
        }
        if let rlimits = try processObject.array("rlimits") {
            for (index, item) in rlimits.enumerated() {
                let limit = try ConfigObject(item, path: "process.rlimits[\(index)]")
                try limit.only(["type", "soft", "hard"])
                guard let type = try limit.string("type"), let soft = try limit.integer("soft"), let hard = try limit.integer("hard"),
                    soft >= 0, hard >= soft
                else { throw ContainerError("config.json: process.rlimits[\(index)] needs type, soft <= hard") }
                process.rlimits.append(ResourceLimit(type: type, soft: UInt64(soft), hard: UInt64(hard)))
            }
        }

        var configuration = ContainerConfiguration(id: id, rootfs: rootfs, process: process, maskedPaths: [], readonlyPaths: [], namespaces: [])
        configuration.readonlyRoot = try root.bool("readonly") ?? false
        configuration.hostname = try top.string("hostname")
        configuration.network = .none

        for (index, item) in (try top.array("mounts") ?? []).enumerated() {
            let mount = try ConfigObject(item, path: "mounts[\(index)]")
            try mount.only(["destination", "type", "source", "options"])
            guard let destination = try mount.string("destination"), destination.hasPrefix("/") else {
                throw ContainerError("config.json: mounts[\(index)].destination must be an absolute path")
            }
            let options = try mount.strings("options") ?? []
            let type = try mount.string("type") ?? (options.contains("bind") || options.contains("rbind") ? "bind" : "")
            guard ["proc", "tmpfs", "sysfs", "devpts", "mqueue", "bind"].contains(type) else {
                throw ContainerError("config.json: mounts[\(index)] type '\(type)' is not supported (proc, tmpfs, sysfs, devpts, mqueue, bind are)")
            }
            var source = try mount.string("source") ?? type
            if type == "bind", !source.hasPrefix("/") { source = bundle + "/" + source }
            configuration.mounts.append(MountConfiguration(destination: destination, type: type, source: source,
                                                           options: type == "bind" && !options.contains("rbind") && !options.contains("bind") ? options + ["bind"] : options))
        }

        guard let linux = try top.object("linux") else {
            throw ContainerError("config.json: linux is required (this is a Linux runtime)")
        }
        try linux.only(["namespaces", "resources", "maskedPaths", "readonlyPaths", "cgroupsPath", "devices", "uidMappings", "gidMappings", "sysctl", "seccomp", "rootfsPropagation", "mountLabel"])
        for unsupported in ["uidMappings", "gidMappings", "sysctl", "seccomp", "devices"] where linux.fields[unsupported] != nil {
            throw ContainerError("config.json: linux.\(unsupported) is not supported by this runtime")
        }
        for (index, item) in (try linux.array("namespaces") ?? []).enumerated() {
            let namespace = try ConfigObject(item, path: "linux.namespaces[\(index)]")
            try namespace.only(["type", "path"])
            if try namespace.string("path") != nil {
                throw ContainerError("config.json: linux.namespaces[\(index)].path (joining a namespace) is not supported")
            }
            let names: [String: Namespace] = ["mount": .mount, "pid": .pid, "uts": .uts, "ipc": .ipc, "network": .network, "cgroup": .cgroup]
            let type = try namespace.string("type") ?? ""
            guard let kind = names[type] else {
                throw ContainerError("config.json: linux.namespaces[\(index)] type '\(type)' is not supported")
            }
            configuration.namespaces.insert(kind)
        }
        for required in [Namespace.mount, .pid] where !configuration.namespaces.contains(required) {
            throw ContainerError("config.json: linux.namespaces must include '\(required.rawValue)' (the runtime's root switch and cleanup rely on it)")
        }
        configuration.maskedPaths = try linux.strings("maskedPaths") ?? []
        configuration.readonlyPaths = try linux.strings("readonlyPaths") ?? []
        if let resources = try linux.object("resources") {
            try resources.only(["memory", "pids", "cpu", "devices"])
            if let memory = try resources.object("memory") {
                try memory.only(["limit", "swap", "reservation", "disableOOMKiller"])
                if let limit = try memory.integer("limit"), limit > 0 { configuration.limits.memoryBytes = UInt64(limit) }
            }
            if let pids = try resources.object("pids") {
                try pids.only(["limit"])
                if let limit = try pids.integer("limit"), limit > 0 { configuration.limits.pids = Int(limit) }
            }
            if let cpu = try resources.object("cpu") {
                try cpu.only(["quota", "period", "shares", "cpus", "mems"])
                for unsupported in ["shares", "cpus", "mems"] where cpu.fields[unsupported] != nil {
                    throw ContainerError("config.json: linux.resources.cpu.\(unsupported) is not supported (quota and period are)")
                }
                if let quota = try cpu.integer("quota"), quota > 0 {
                    let period = try cpu.integer("period") ?? 100_000
                    guard period > 0 else { throw ContainerError("config.json: linux.resources.cpu.period must be positive") }
                    configuration.limits.cpus = Double(quota) / Double(period)
                }
            }
            if let devices = try resources.array("devices") {
                var rules: [DeviceRule] = []
                for (index, item) in devices.enumerated() {
                    let rule = try ConfigObject(item, path: "linux.resources.devices[\(index)]")
                    try rule.only(["allow", "type", "major", "minor", "access"])
                    guard let allow = try rule.bool("allow") else {
                        throw ContainerError("config.json: linux.resources.devices[\(index)].allow is required")
                    }
                    rules.append(DeviceRule(allow: allow, type: try rule.string("type") ?? "a", major: try rule.integer("major"),
                                            minor: try rule.integer("minor"), access: try rule.string("access") ?? "rwm"))
                }
                // "deny all" alone is what every runc spec starts with and is already the
                // runtime's stance (no CAP_MKNOD, nodev mounts); only real rules need the cgroup.
                if rules.contains(where: { $0.allow }) { configuration.limits.devices = rules }
            }
        }
        return configuration
    }
}

/// The state of a container as the OCI runtime spec defines it (`state` prints it).
public struct OCIState: Sendable, Codable, Equatable {
    public var ociVersion: String
    public var id: String
    /// "creating", "created", "running" or "stopped".
    public var status: String
    public var pid: Int32?
    public var bundle: String
    public var annotations: [String: String]?

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
