import Foundation
import Machine
@testable import SplitIO

/// Memory that forwards to another and records every access: the backend's view of machine
/// memory in these tests, so a test can check where the backend read and wrote, and hook a read
/// (to play a frontend that rewrites a request while the backend reads it).
final class WatchedMemory: PhysicalMemory {
    struct Access: Equatable {
        var address: UInt32
        var count: Int
        var isWrite: Bool
    }

    let base: any PhysicalMemory
    private(set) var accesses: [Access] = []
    /// Called after each read, with the address and count read.
    var afterRead: ((UInt32, Int) -> Void)?

    init(_ base: any PhysicalMemory) { self.base = base }

    func read(_ address: UInt32, count: Int) throws(SplitIOError) -> [UInt8] {
        accesses.append(Access(address: address, count: count, isWrite: false))
        let bytes = try base.read(address, count: count)
        afterRead?(address, count)
        return bytes
    }

    func write(_ address: UInt32, _ bytes: [UInt8]) throws(SplitIOError) {
        accesses.append(Access(address: address, count: bytes.count, isWrite: true))
        try base.write(address, bytes)
    }

    func clearLog() { accesses = [] }
}

/// One emulated machine whose RAM is carved into domains, with the hypervisor's grant tables and
/// event channels, and one block backend in Dom0. The guests' own accesses go straight to the
/// machine's RAM; everything the hypervisor and the backend do goes through `watched`.
final class SplitIOFixture {
    let machine: Machine
    let ram: MachineMemory
    let watched: WatchedMemory
    let frames = FrameTable()
    let grants: GrantTables
    let events = EventChannels()
    let backend: BlockBackend
    let directory: URL
    private var nextFrame: Int = 0
    private let allFrames: [FrameNumber]

    init(limits: BlockBackend.Limits = .init(), ramSize: Int = 1 << 20, interceptUserTraps: Bool = false) throws {
        var configuration = MachineConfiguration()
        configuration.ramSize = ramSize
        configuration.interceptUserTraps = interceptUserTraps
        machine = try Machine(configuration: configuration)
        machine.console = .silent
        ram = MachineMemory(machine)
        watched = WatchedMemory(ram)
        grants = GrantTables(memory: watched, frames: frames)
        backend = BlockBackend(grants: grants, events: events, limits: limits)
        allFrames = ram.frames
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("splitio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = giveFrames(to: .dom0, count: 4)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Hands the next `count` frames of RAM to `domain`.
    func giveFrames(to domain: DomainID, count: Int) -> [FrameNumber] {
        let given = Array(allFrames[nextFrame..<nextFrame + count])
        nextFrame += count
        frames.assign(given, to: domain)
        return given
    }

    /// A DomU with a ring page and `bufferPages` buffer pages, running a frontend.
    func makeFrontend(_ domain: DomainID, bufferPages: Int = 22) throws -> BlockFrontend {
        let owned = giveFrames(to: domain, count: bufferPages + 1)
        return try BlockFrontend(domain: domain, memory: ram, grants: grants, events: events,
                                 ringFrame: owned[0], bufferFrames: Array(owned.dropFirst()))
    }

    func imagePath(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func makeDisk(_ name: String, sectors: UInt64) throws -> RawDiskImage {
        try RawDiskImage.create(path: imagePath(name), sectors: sectors)
    }

    /// A frontend connected to the backend with its own fresh disk.
    func connectedFrontend(_ domain: DomainID, sectors: UInt64 = 256)
        throws -> (frontend: BlockFrontend, connection: BlockBackend.ConnectionID, disk: RawDiskImage) {
        let frontend = try makeFrontend(domain)
        let disk = try makeDisk("dom\(domain.rawValue).img", sectors: sectors)
        let connection = try backend.connect(frontend: domain, ringReference: frontend.ringReference,
                                             eventPort: frontend.eventPort, disk: disk)
        return (frontend, connection, disk)
    }

    /// Runs the backend the way the hypervisor would: a pass whenever Dom0's upcall is pending or
    /// work is left over. Returns the number of passes (bounded, so a bug cannot hang a test).
    @discardableResult
    func runBackend(maxPasses: Int = 1000) -> Int {
        var passes = 0
        while passes < maxPasses && (events.isUpcallPending(.dom0) || backend.hasPendingWork) {
            backend.service()
            passes += 1
        }
        return passes
    }

    /// The image file's bytes, read by the host file system (not through the backend).
    func imageBytes(_ disk: RawDiskImage) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: disk.path)))
    }
}

/// A deterministic pseudo-random generator (xorshift64*), so failures replay.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 2_685_821_657_736_338_717
    }
}

func pattern(_ seed: UInt8, count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ 1) }
}

/// The first offset where two byte sequences differ (or where the shorter ends), nil if equal:
/// a failing expectation then prints one number instead of thousands of bytes.
func firstDifference(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Int? {
    var offset = 0
    for (x, y) in zip(a, b) {
        if x != y { return offset }
        offset += 1
    }
    return a.count == b.count ? nil : offset
}
