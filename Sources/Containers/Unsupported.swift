#if !os(Linux)
import ContainerSupport
// Containers are made of Linux kernel features (namespaces, pivot_root, overlayfs,
// cgroups). Elsewhere the module still compiles, so the rest of VirtLab builds, and every
// entry point says clearly why it cannot work.

#if canImport(Darwin)
import Darwin
#endif

let unsupported = ContainerError("containers need Linux (namespaces, pivot_root, overlayfs, cgroups): not supported on this platform")

public struct EscapeAttempt: Sendable, Codable, Equatable {
    public var name: String
    public var escaped: Bool
    public var explanation: String
    public var errno: String?
    public static let classic: Set<String> = []
}

public struct ContainerExit: Sendable {
    public var id: String
    public var status: Int32
    public var signal: Int32?
    public var reason: String?
    public var usage: LimitsUsage
    public var timedOut: Bool
    public var appliedLimits: [String]
    public var elapsedNanoseconds: UInt64
}

public enum ContainerInit {
    public static func main() -> Never {
        print(unsupported.description)
        exit(1)
    }
}

public enum Layers {
    public static func commit(upper: String, to layer: String) throws(ContainerError) { throw unsupported }
    public static func flatten(_ layers: [String], into destination: String) throws(ContainerError) { throw unsupported }
    public static func diskUsage(_ path: String) -> UInt64 { 0 }
}

public struct ContainerBenchmark: Sendable {
    public struct Report: Sendable {
        public var runs: Int
        public var containers: Int
        public var shareMedianNanoseconds: UInt64
        public var limitedMedianNanoseconds: UInt64
        public var copyMedianNanoseconds: UInt64
        public var throughInitMedianNanoseconds: UInt64
        public var imageBytes: UInt64
        public var shareBytes: UInt64
        public var copyBytes: UInt64
    }
    public init(runtime: ContainerRuntime, rootfs: String, scratch: String = "/var/tmp") {}
    public func measure(runs: Int, containers: Int) throws(ContainerError) -> Report { throw unsupported }
}

public struct ContainerRuntime: Sendable {
    public var stateRoot: String
    public var initExecutable: String
    public var initArguments: [String]
    public var plansChild = true
    public static let defaultStateRoot = "/run/vlab"

    public init(stateRoot: String = ContainerRuntime.defaultStateRoot, initExecutable: String = "/proc/self/exe",
                initArguments: [String] = ["vlab", "container", "__init"]) {
        self.stateRoot = stateRoot
        self.initExecutable = initExecutable
        self.initArguments = initArguments
    }

    public static func validate(_ configuration: ContainerConfiguration) throws(ContainerError) { throw unsupported }
    public static func signalNumber(_ text: String) -> Int32? { Int32(text) }
    public func run(_ configuration: ContainerConfiguration) throws(ContainerError) -> ContainerExit { throw unsupported }
    public func escapeTest(_ configuration: ContainerConfiguration) throws(ContainerError) -> [EscapeAttempt] { throw unsupported }
    public func collectGarbage() -> [String] { [] }
    public func create(id: String, bundle: String) throws(ContainerError) { throw unsupported }
    public func start(id: String) throws(ContainerError) { throw unsupported }
    public func state(id: String) throws(ContainerError) -> OCIState { throw unsupported }
    public func kill(id: String, signal: Int32) throws(ContainerError) { throw unsupported }
    public func delete(id: String, force: Bool = false) throws(ContainerError) { throw unsupported }
    public func list() -> [String] { [] }
}
#endif
