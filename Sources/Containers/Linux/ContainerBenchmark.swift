#if os(Linux)
import ContainerSupport
import Glibc

/// `vlab bench container`: the seed's two ways to give each container its own root,
/// measured on this machine. Start latency is wall time of `ContainerRuntime.run` of
/// `/bin/true` (clone, mounts, root switch, exec, wait, cleanup); disk use
/// is allocated blocks (`du`) after N containers each wrote one small file.
public struct ContainerBenchmark: Sendable {
    public struct Report: Sendable {
        public var runs: Int
        public var containers: Int
        /// Median start-to-exit latency of /bin/true, shared layers, no limits.
        public var shareMedianNanoseconds: UInt64
        /// The same with memory and pids limits (cgroup creation and removal included).
        public var limitedMedianNanoseconds: UInt64
        /// The same with --copy (the private copy is made and removed every run).
        public var copyMedianNanoseconds: UInt64
        /// Shared layers again, with the container's setup done by the re-executed init
        /// executable instead of the clone's child (the path a lab's own steps take).
        public var throughInitMedianNanoseconds: UInt64
        public var imageBytes: UInt64
        /// Disk used by N containers' upper layers (the image itself is shared, counted once).
        public var shareBytes: UInt64
        /// Disk used by N private copies.
        public var copyBytes: UInt64
    }

    public var runtime: ContainerRuntime
    public var rootfs: String
    /// Where the N containers' directories are made (a disk, not tmpfs, for honest figures).
    public var scratch: String

    public init(runtime: ContainerRuntime, rootfs: String, scratch: String = "/var/tmp") {
        self.runtime = runtime
        self.rootfs = rootfs
        self.scratch = scratch
    }

    public func measure(runs: Int, containers: Int) throws(ContainerError) -> Report {
        guard runs > 0, containers > 0 else { throw ContainerError("runs and containers must be at least 1") }
        let base = ContainerConfiguration(rootfs: rootfs, process: ProcessConfiguration(arguments: ["/bin/true"]))
        var limited = base
        limited.limits = ResourceLimits(memoryBytes: 64 << 20, pids: 32)
        var copied = base
        copied.storage = .copy

        // One warm-up run so the binary and the image are in the page cache for all three.
        _ = try runtime.run(base)
        let share = try median(runs, base)
        let limitedMedian = try median(runs, limited)
        let copyMedian = try median(max(1, runs / 4), copied)
        var throughInit = runtime
        throughInit.plansChild = false
        let throughInitMedian = try median(runs, base, runtime: throughInit)

        let directory = try Kernel.makeTemporaryDirectory(in: scratch, prefix: "vlab-bench-")
        defer { try? Kernel.removeTree(directory) }
        var shareBytes: UInt64 = 0
        var copyBytes: UInt64 = 0
        for index in 0..<containers {
            var writer = base
            writer.process.arguments = ["/bin/sh", "-c", "echo container \(index) > /etc/instance"]
            writer.upperDirectory = directory + "/upper-\(index)"
            let exit = try runtime.run(writer)
            guard exit.status == 0 else { throw ContainerError("benchmark container \(index) exited with \(exit.status)") }
            shareBytes += Layers.diskUsage(directory + "/upper-\(index)")

            let copy = directory + "/copy-\(index)"
            try Layers.flatten([rootfs], into: copy)
            try Kernel.writeFile(copy + "/etc/instance", "container \(index)\n", create: true)
            copyBytes += Layers.diskUsage(copy)
        }
        return Report(runs: runs, containers: containers, shareMedianNanoseconds: share,
                      limitedMedianNanoseconds: limitedMedian, copyMedianNanoseconds: copyMedian,
                      throughInitMedianNanoseconds: throughInitMedian,
                      imageBytes: Layers.diskUsage(rootfs), shareBytes: shareBytes, copyBytes: copyBytes)
    }

    private func median(_ runs: Int, _ configuration: ContainerConfiguration, runtime: ContainerRuntime? = nil)
        throws(ContainerError) -> UInt64
    {
        let runtime = runtime ?? self.runtime
        var samples: [UInt64] = []
        for _ in 0..<runs {
            let start = Kernel.monotonicNanoseconds()
            let exit = try runtime.run(configuration)
            guard exit.status == 0 else { throw ContainerError("/bin/true exited with \(exit.status) in the benchmark") }
            samples.append(Kernel.monotonicNanoseconds() - start)
        }
        samples.sort()
        return samples[samples.count / 2]
    }
}
#endif
