import ArgumentParser
import Containers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `vlab container`: OS-level virtualization on the real Linux kernel.
public struct ContainerCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "container",
        abstract: "Run isolated containers on this Linux kernel: namespaces, pivot_root, overlayfs layers, cgroup limits.",
        discussion: """
            `run` runs one command to completion. `create`, `start`, `state`, `kill` and `delete` drive \
            an OCI bundle (a directory with config.json) the way runc and crun are driven. `commit` turns \
            a container's upper layer into a new layer; `escape-test` runs the escape matrix.
            Runtime errors exit with status 125; otherwise `run` exits with the command's status \
            (128 + signal when it was killed).
            """,
        subcommands: [
            ContainerRun.self, ContainerCreate.self, ContainerStart.self, ContainerState.self,
            ContainerKill.self, ContainerDelete.self, ContainerCommit.self, ContainerEscapeTest.self,
            ContainerInitCommand.self,
        ])

    public init() {}
}

/// Options every container subcommand shares.
struct ContainerRuntimeOptions: ParsableArguments {
    @Option(name: .customLong("state-root"), help: ArgumentHelp("The runtime's state directory.", valueName: "dir"))
    var stateRoot: String = ContainerRuntime.defaultStateRoot

    var runtime: ContainerRuntime { ContainerRuntime(stateRoot: stateRoot) }
}

/// Runs `body`, printing a runtime error as one line and exiting with 125.
func containerAction<T>(_ body: () throws(ContainerError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        printToStandardError("vlab container: \(error.description)")
        throw ExitCode(125)
    }
}

func printToStandardError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The flags that describe a container's root, isolation and limits.
struct ContainerSpecOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The image's bottom layer: a root filesystem directory.", valueName: "dir"))
    var rootfs: String

    @Option(name: .customLong("layer"), help: ArgumentHelp("A read-only layer on top (repeat; later ones win).", valueName: "dir"))
    var layers: [String] = []

    @Option(help: ArgumentHelp("Memory limit, e.g. 64M.", valueName: "size"))
    var memory: String?

    @Option(help: ArgumentHelp("Maximum number of processes.", valueName: "n"))
    var pids: Int?

    @Option(help: ArgumentHelp("CPU time limit in CPUs, e.g. 0.5.", valueName: "cpus"))
    var cpus: Double?

    @Option(help: "The container's hostname.")
    var hostname: String?

    @Option(help: ArgumentHelp("Network: none (no interface up) or loopback.", valueName: "none|loopback"))
    var net: String = "loopback"

    @Flag(help: "Mount the container's root read-only.")
    var readonly = false

    @Option(name: .customLong("env"), help: ArgumentHelp("An environment variable (repeat).", valueName: "K=V"))
    var environment: [String] = []

    @Option(help: ArgumentHelp("Working directory inside the container.", valueName: "dir"))
    var workdir: String = "/"

    @Flag(help: "Give the container a private copy of the image instead of sharing its layers.")
    var copy = false

    @Option(help: ArgumentHelp("Keep the container's writes in this directory (for `commit`).", valueName: "dir"))
    var upper: String?

    @Option(name: .customLong("teaching-mode"), help: ArgumentHelp("chroot: the classic, escapable chroot jail (for the escape lab).", valueName: "mode"))
    var teachingMode: String?

    @Option(help: ArgumentHelp("A name for the container.", valueName: "id"))
    var id: String?

    @Option(help: ArgumentHelp("Kill the container after this many seconds.", valueName: "seconds"))
    var timeout: Double?

    func validate() throws {
        if NetworkMode(rawValue: net) == nil { throw ValidationError("invalid --net '\(net)': use none or loopback") }
        if let teachingMode, TeachingMode(rawValue: teachingMode) == nil {
            throw ValidationError("invalid --teaching-mode '\(teachingMode)': the only mode is chroot")
        }
        if let memory {
            do { _ = try ByteSize.parse(memory) } catch { throw ValidationError("invalid --memory: \(error.message)") }
        }
        for variable in environment where !variable.contains("=") || variable.hasPrefix("=") {
            throw ValidationError("invalid --env '\(variable)': expected KEY=value")
        }
        if copy && upper != nil { throw ValidationError("--upper keeps an overlay upper layer; it cannot be combined with --copy") }
    }

    func configuration(arguments: [String]) throws(ContainerError) -> ContainerConfiguration {
        var environment = ProcessConfiguration.defaultEnvironment
        for variable in self.environment {
            let key = variable.prefix { $0 != "=" }
            environment.removeAll { $0.hasPrefix(key + "=") }
            environment.append(variable)
        }
        var limits = ResourceLimits(pids: pids, cpus: cpus)
        if let memory { limits.memoryBytes = try ByteSize.parse(memory) }
        return ContainerConfiguration(
            id: id, rootfs: rootfs, layers: layers, storage: copy ? .copy : .sharedLayers, upperDirectory: upper,
            readonlyRoot: readonly, hostname: hostname, network: NetworkMode(rawValue: net) ?? .loopback, limits: limits,
            process: ProcessConfiguration(arguments: arguments, environment: environment, workingDirectory: workdir),
            teachingMode: teachingMode.flatMap(TeachingMode.init(rawValue:)), timeoutSeconds: timeout)
    }
}

struct ContainerRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command in a new container and exit with its status.",
        discussion: "Example: vlab container run --rootfs ./rootfs --memory 64M --pids 32 -- /bin/sh -c 'hostname'")

    @OptionGroup var global: ContainerRuntimeOptions
    @OptionGroup var spec: ContainerSpecOptions

    @Flag(name: .shortAndLong, help: "Report the limits applied and how the container ended.")
    var verbose = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("no command: put it after `--`, e.g. -- /bin/sh -c 'echo hi'") }
    }

    func run() throws {
        let runtime = global.runtime
        let exit = try containerAction { () throws(ContainerError) in try runtime.run(spec.configuration(arguments: command)) }
        if verbose {
            for limit in exit.appliedLimits { printToStandardError("vlab container: \(exit.id): limit \(limit)") }
            let usage = exit.usage
            var counters: [String] = []
            if let value = usage.oomKills { counters.append("oom_kill=\(value)") }
            if let value = usage.memoryPeakBytes { counters.append("memory_peak=\(value)") }
            if let value = usage.pidsLimitHits { counters.append("pids_max_hits=\(value)") }
            if let value = usage.cpuThrottledPeriods { counters.append("cpu_throttled_periods=\(value)") }
            if !counters.isEmpty { printToStandardError("vlab container: \(exit.id): usage " + counters.joined(separator: " ")) }
            printToStandardError("vlab container: \(exit.id): exited with status \(exit.status) after \(exit.elapsedNanoseconds / 1_000_000) ms")
        }
        if let reason = exit.reason { printToStandardError("vlab container: \(exit.id): \(reason)") }
        if exit.status != 0 { throw ExitCode(exit.status) }
    }
}

struct ContainerCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a container from an OCI bundle; it waits for `start`.")

    @OptionGroup var global: ContainerRuntimeOptions

    @Option(name: [.customShort("b"), .long], help: ArgumentHelp("The bundle directory (holding config.json).", valueName: "dir"))
    var bundle: String = "."

    @Argument(help: "The container id.")
    var id: String

    func run() throws {
        let runtime = global.runtime
        try containerAction { () throws(ContainerError) in try runtime.create(id: id, bundle: bundle) }
    }
}

struct ContainerStart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a created container's process.")
    @OptionGroup var global: ContainerRuntimeOptions
    @Argument(help: "The container id.") var id: String

    func run() throws {
        let runtime = global.runtime
        try containerAction { () throws(ContainerError) in try runtime.start(id: id) }
    }
}

struct ContainerState: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's OCI state as JSON.")
    @OptionGroup var global: ContainerRuntimeOptions
    @Argument(help: "The container id.") var id: String

    func run() throws {
        let runtime = global.runtime
        let state = try containerAction { () throws(ContainerError) in try runtime.state(id: id) }
        print(state.json())
    }
}

struct ContainerKill: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container's init (default SIGTERM).")
    @OptionGroup var global: ContainerRuntimeOptions
    @Argument(help: "The container id.") var id: String
    @Argument(help: "Signal name or number.") var signal: String = "SIGTERM"

    func validate() throws {
        if ContainerRuntime.signalNumber(signal) == nil { throw ValidationError("invalid signal '\(signal)'") }
    }

    func run() throws {
        let runtime = global.runtime
        let number = ContainerRuntime.signalNumber(signal) ?? 15
        try containerAction { () throws(ContainerError) in try runtime.kill(id: id, signal: number) }
    }
}

struct ContainerDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove a stopped container and everything it had.")
    @OptionGroup var global: ContainerRuntimeOptions
    @Flag(name: .shortAndLong, help: "Kill the container first if it still runs.") var force = false
    @Argument(help: "The container id.") var id: String

    func run() throws {
        let runtime = global.runtime
        try containerAction { () throws(ContainerError) in try runtime.delete(id: id, force: force) }
    }
}

struct ContainerCommit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit", abstract: "Turn a container's upper directory (from `run --upper`) into a new layer.")
    @Argument(help: "The upper directory.") var upper: String
    @Argument(help: "The new layer's directory (must not exist).") var layer: String

    func run() throws {
        try containerAction { () throws(ContainerError) in try Layers.commit(upper: upper, to: layer) }
    }
}

struct ContainerEscapeTest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "escape-test",
        abstract: "Try the known container escapes from inside a container and report what stopped each.",
        discussion: "All attempts fail by default; with --teaching-mode chroot the classic ones succeed (that is the lesson).")

    @OptionGroup var global: ContainerRuntimeOptions
    @Option(help: ArgumentHelp("The root filesystem directory.", valueName: "dir")) var rootfs: String
    @Option(name: .customLong("teaching-mode"), help: ArgumentHelp("chroot: the classic chroot jail.", valueName: "mode"))
    var teachingMode: String?

    func validate() throws {
        if let teachingMode, TeachingMode(rawValue: teachingMode) == nil {
            throw ValidationError("invalid --teaching-mode '\(teachingMode)': the only mode is chroot")
        }
    }

    func run() throws {
        var configuration = ContainerConfiguration(
            rootfs: rootfs, limits: ResourceLimits(memoryBytes: 64 << 20, pids: 32),
            process: ProcessConfiguration(arguments: ["escape-probes"]),
            teachingMode: teachingMode.flatMap(TeachingMode.init(rawValue:)), timeoutSeconds: 30)
        configuration.hostname = "escape-test"
        let runtime = global.runtime
        let attempts = try containerAction { () throws(ContainerError) in try runtime.escapeTest(configuration) }
        let width = attempts.map(\.name.count).max() ?? 10
        for attempt in attempts {
            let padded = attempt.name + String(repeating: " ", count: width - attempt.name.count)
            let verdict = attempt.escaped ? "ESCAPED" : "blocked"
            let code = attempt.errno.map { " [\($0)]" } ?? ""
            print("\(padded)  \(verdict)  \(attempt.explanation)\(code)")
        }
        let escaped = attempts.filter(\.escaped).count
        print("\(attempts.count) attempts, \(escaped) escaped (\(teachingMode.map { "teaching mode \($0)" } ?? "default settings"))")
    }
}

/// The container's init, re-executed by the runtime inside the new namespaces.
struct ContainerInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__init", abstract: "Internal: the container init the runtime re-executes.", shouldDisplay: false)

    func run() throws {
        ContainerInit.main()
    }
}

/// `vlab bench container`.
public struct ContainerBenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "container",
        abstract: "Container start latency (/bin/true) and disk use of shared layers versus private copies.")

    @OptionGroup var global: ContainerRuntimeOptions
    @Option(help: ArgumentHelp("The image's root filesystem.", valueName: "dir")) var rootfs: String
    @Option(help: "Runs per latency median.") var runs: Int = 50
    @Option(help: "Containers for the disk comparison.") var containers: Int = 10
    @Option(help: ArgumentHelp("Directory for the disk comparison (a real disk, not tmpfs).", valueName: "dir"))
    var scratch: String = "/var/tmp"

    public init() {}

    public func run() throws {
        let benchmark = ContainerBenchmark(runtime: global.runtime, rootfs: rootfs, scratch: scratch)
        let report = try containerAction { () throws(ContainerError) in try benchmark.measure(runs: runs, containers: containers) }
        func ms(_ nanoseconds: UInt64) -> String {
            let hundredths = (nanoseconds + 5_000) / 10_000
            return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100) ms"
        }
        func kib(_ bytes: UInt64) -> String { "\(bytes / 1024) KiB" }
        print("start-to-exit latency of /bin/true, median of \(report.runs) runs:")
        print("  shared layers (overlayfs)        \(ms(report.shareMedianNanoseconds))")
        print("  shared layers + memory/pids cap  \(ms(report.limitedMedianNanoseconds))")
        print("  private copy (--copy)            \(ms(report.copyMedianNanoseconds))")
        print("  shared layers, init executable   \(ms(report.throughInitMedianNanoseconds))   (setup in a re-executed vlab-init, as for a lab's steps)")
        print("disk used by \(report.containers) containers from one image of \(kib(report.imageBytes)):")
        print("  shared layers: \(kib(report.imageBytes)) image + \(kib(report.shareBytes)) upper layers = \(kib(report.imageBytes + report.shareBytes))")
        print("  private copies: \(kib(report.copyBytes))")
    }
}
