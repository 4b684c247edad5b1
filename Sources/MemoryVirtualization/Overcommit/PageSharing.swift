import HypervisorCore
import Machine

/// Content-based page sharing, as in VMware ESX (Waldspurger, "Memory Resource Management in
/// VMware ESX Server", OSDI 2002): guests booted from the same image hold many identical frames
/// (the image itself, and every page still zero). A scan hashes each guest's private frames; a hash
/// that matches another frame's is only a hint, so the two frames are then compared byte for byte,
/// and only identical frames are merged: every sharer's p2m points at one machine frame, read-only,
/// and the duplicates go back to the pool, scrubbed.
///
/// Sharing is invisible to the guests: a shared frame holds exactly what each sharer had, and a
/// store to it *breaks* the share (`breakShare`, called through `GuestMemory.breakShare`): the
/// storing guest gets a private copy in a fresh frame, its p2m entry is remapped, its cached
/// translations are dropped (the memory's remap observers), and the others keep the old contents.
///
/// The service also owns the give-back of frames (`release`), because a frame being given back
/// (balloon, domain destroyed) may be shared: it returns to the pool only when its last sharer lets go.
///
/// Not Sendable: it belongs to the VMM's single thread, like the guests it manages.
public final class PageSharing: GuestFrameSharing {
    /// Cumulative counts.
    public struct Statistics: Equatable, Sendable {
        public var scans = 0
        /// Private frames hashed.
        public var framesHashed = 0
        /// Hash matches that the full comparison proved different (what the comparison is for).
        public var hashCollisions = 0
        /// Frames merged into a shared frame (each freed one machine frame).
        public var merges = 0
        /// Stores (or VMM writes) that needed a private copy of a shared frame.
        public var shareBreaks = 0
        /// Share breaks refused because no machine frame could be had.
        public var failedBreaks = 0
    }

    /// What one scan achieved.
    public struct ScanResult: Equatable, Sendable {
        public var framesHashed = 0
        public var merges = 0
        public var hashCollisions = 0
    }

    public let pool: MachineFramePool
    public private(set) var statistics = Statistics()
    /// The hash of a frame's 4096 bytes. The default is FNV-1a over 64-bit words; tests may give a
    /// poor one (everything collides) to show the byte comparison keeps different frames apart.
    let hash: (UnsafeRawBufferPointer) -> UInt64

    private struct Member {
        let name: String
        let memory: GuestMemory
    }
    private struct Sharer: Equatable {
        let member: ObjectIdentifier
        let frame: Int
    }
    private struct SharedFrame {
        let hash: UInt64
        var sharers: [Sharer]
    }
    private var members: [ObjectIdentifier: Member] = [:]
    /// Registration order, so scans (and which frame survives a merge) are deterministic.
    private var order: [ObjectIdentifier] = []
    private var shared: [UInt32: SharedFrame] = [:]
    private var sharedByHash: [UInt64: [UInt32]] = [:]

    public init(pool: MachineFramePool, hash: ((UnsafeRawBufferPointer) -> UInt64)? = nil) {
        self.pool = pool
        self.hash = hash ?? PageSharing.fnv1a
    }

    // MARK: Members

    /// Makes `memory`'s frames candidates for sharing and this service its copier.
    public func register(_ memory: GuestMemory, name: String) {
        let id = ObjectIdentifier(memory)
        guard members[id] == nil else { return }
        members[id] = Member(name: name, memory: memory)
        order.append(id)
        memory.sharing = self
    }

    /// Gives back every frame of `memory` (private frames to the pool, its share of shared ones)
    /// and forgets it: what destroying a domain does.
    public func unregister(_ memory: GuestMemory) {
        let id = ObjectIdentifier(memory)
        guard members[id] != nil else { return }
        for frame in 0..<memory.frameCount { release(frame: frame, of: memory) }
        members[id] = nil
        order.removeAll { $0 == id }
        if memory.sharing === self { memory.sharing = nil }
    }

    /// Takes guest frame `guestFrame` away from `memory` (the balloon gave it back) and returns
    /// whether it had one. A private frame goes to the pool; a shared one loses a sharer and goes
    /// to the pool with its last.
    @discardableResult
    public func release(frame guestFrame: Int, of memory: GuestMemory) -> Bool {
        let wasShared = memory.access(frame: guestFrame) == .readOnly
        guard let machineFrame = memory.removeFrame(guestFrame) else { return false }
        if wasShared, shared[machineFrame] != nil {
            dropSharer(Sharer(member: ObjectIdentifier(memory), frame: guestFrame), of: machineFrame)
        } else {
            pool.give([machineFrame])
        }
        return true
    }

    // MARK: Scanning

    /// Hashes every private frame of every member, merges identical ones (into an existing shared
    /// frame, or two private frames into a new one), and frees the duplicates.
    @discardableResult
    public func scan() -> ScanResult {
        var result = ScanResult()
        statistics.scans += 1
        // Private frames seen in this scan, by hash: the candidates a later frame can merge with.
        var candidates: [UInt64: [Sharer]] = [:]
        for id in order {
            guard let member = members[id] else { continue }
            let memory = member.memory
            for frame in 0..<memory.frameCount where memory.isWritable(frame: frame) {
                guard let contents = try? pool.machine.readPhysical(memory.machineFrames[frame], count: 4096) else { continue }
                let digest = contents.withUnsafeBytes(hash)
                result.framesHashed += 1
                let me = Sharer(member: id, frame: frame)
                // An existing shared frame with these contents?
                if let target = (sharedByHash[digest] ?? []).first(where: { sameContents(contents, machineFrame: $0, collisions: &result.hashCollisions) }) {
                    join(me, to: target)
                    result.merges += 1
                    continue
                }
                // A private frame seen earlier in this scan?
                let earlier = candidates[digest] ?? []
                if let index = earlier.firstIndex(where: { candidate in
                    guard let candidateMemory = members[candidate.member]?.memory,
                          candidateMemory.isWritable(frame: candidate.frame) else { return false }
                    return sameContents(contents, machineFrame: candidateMemory.machineFrames[candidate.frame],
                                        collisions: &result.hashCollisions)
                }), let firstMemory = members[earlier[index].member]?.memory {
                    let first = earlier[index]
                    candidates[digest]?.remove(at: index)
                    let target = firstMemory.machineFrames[first.frame]
                    firstMemory.setWritable(frame: first.frame, false)
                    shared[target] = SharedFrame(hash: digest, sharers: [first])
                    sharedByHash[digest, default: []].append(target)
                    join(me, to: target)
                    result.merges += 1
                    continue
                }
                candidates[digest, default: []].append(me)
            }
        }
        statistics.framesHashed += result.framesHashed
        statistics.merges += result.merges
        statistics.hashCollisions += result.hashCollisions
        return result
    }

    private func sameContents(_ contents: [UInt8], machineFrame: UInt32, collisions: inout Int) -> Bool {
        guard let other = try? pool.machine.readPhysical(machineFrame, count: 4096) else { return false }
        let same = contents.withUnsafeBytes { a in other.withUnsafeBytes { b in a.elementsEqual(b) } }
        if !same { collisions += 1 }
        return same
    }

    /// Points `sharer`'s guest frame at the shared `target`, read-only, and frees its own frame.
    private func join(_ sharer: Sharer, to target: UInt32) {
        guard let memory = members[sharer.member]?.memory,
              let duplicate = memory.remap(frame: sharer.frame, to: target, writable: false) else { return }
        shared[target]?.sharers.append(sharer)
        pool.give([duplicate])
    }

    // MARK: Copy on write

    public func breakShare(frame guestFrame: Int, of memory: GuestMemory) throws(AllotmentError) {
        let id = ObjectIdentifier(memory)
        let name = members[id]?.name ?? "guest"
        let address = "guest-physical 0x\(hex8(GuestMemory.guestPhysical(ofFrame: guestFrame)))"
        guard memory.access(frame: guestFrame) == .readOnly, let machineFrame = memory.machineFrame(ofFrame: guestFrame),
              shared[machineFrame] != nil else {
            throw AllotmentError("\(name): \(address) is not a shared frame")
        }
        let copy: UInt32
        do throws(AllotmentError) {
            copy = try pool.take(1, for: "\(name): private copy of shared \(address)")[0]
        } catch {
            statistics.failedBreaks += 1
            throw error
        }
        // The shared frame is read-only for everyone, so its contents are still what they were.
        if let contents = try? pool.machine.readPhysical(machineFrame, count: 4096) {
            try? pool.machine.writePhysical(copy, contents)
        }
        memory.remap(frame: guestFrame, to: copy, writable: true)
        dropSharer(Sharer(member: id, frame: guestFrame), of: machineFrame)
        statistics.shareBreaks += 1
    }

    /// One sharer stopped mapping `machineFrame`. A frame left with one sharer becomes that
    /// sharer's private, writable frame again; with none, it goes back to the pool.
    private func dropSharer(_ sharer: Sharer, of machineFrame: UInt32) {
        guard var entry = shared[machineFrame] else { return }
        entry.sharers.removeAll { $0 == sharer }
        if entry.sharers.count >= 2 {
            shared[machineFrame] = entry
            return
        }
        shared[machineFrame] = nil
        sharedByHash[entry.hash]?.removeAll { $0 == machineFrame }
        if sharedByHash[entry.hash]?.isEmpty == true { sharedByHash[entry.hash] = nil }
        if let last = entry.sharers.first, let memory = members[last.member]?.memory {
            memory.setWritable(frame: last.frame, true)
        } else {
            pool.give([machineFrame])
        }
    }

    // MARK: Accounting

    /// Machine frames currently shared (each mapped by at least two guest frames).
    public var sharedFrames: Int { shared.count }
    /// Guest frames currently mapping a shared frame.
    public var sharingGuestFrames: Int { shared.values.reduce(0) { $0 + $1.sharers.count } }
    /// Machine frames sharing saves right now: each shared frame stands for all its sharers.
    public var framesSaved: Int { sharingGuestFrames - sharedFrames }
    /// Of `framesSaved`, those saved on frames that are all zero (never-touched memory).
    public var zeroFramesSaved: Int {
        shared.reduce(0) { total, entry in
            let zero = (try? pool.machine.readPhysical(entry.key, count: 4096))?.allSatisfy { $0 == 0 } ?? false
            return total + (zero ? entry.value.sharers.count - 1 : 0)
        }
    }
    /// How many guest frames map `machineFrame` (0 if it is not shared).
    public func sharers(of machineFrame: UInt32) -> Int { shared[machineFrame]?.sharers.count ?? 0 }

    /// FNV-1a (Fowler/Noll/Vo), one 64-bit word at a time: cheap, and good enough as a hint,
    /// since every match is checked byte for byte.
    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var offset = 0
        while offset + 8 <= bytes.count {
            hash = (hash ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            offset += 8
        }
        while offset < bytes.count {
            hash = (hash ^ UInt64(bytes[offset])) &* 0x0000_0100_0000_01b3
            offset += 1
        }
        return hash
    }
}
