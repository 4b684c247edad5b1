import HypervisorCore
import Machine

/// The machine's RAM frames as the over-committing VMM hands them out: guests' frames, shadow
/// pools, private copies of shared frames, frames a balloon asks back. A frame given back is
/// scrubbed (zeroed) before anyone else can get it, so no owner ever sees an earlier owner's data.
///
/// When the free frames do not cover a request, the pool runs its *reclaim path* before refusing:
/// the steps in `reclaimSteps`, in order (the VMM installs "balloon" then "sharing", as VMware ESX
/// prefers ballooning, which lets the guest choose what to give up, over anything the VMM does
/// behind the guest's back). Whatever the steps free is used; if it is still not enough, the request
/// is refused with an error saying what each step achieved. Every attempt is kept in `reclaimLog`.
public final class MachineFramePool {
    public let machine: Machine
    private var allocator: MachineFrameAllocator
    /// Tried in order when a request finds too few free frames.
    public var reclaimSteps: [ReclaimStep] = []
    /// Every request that needed the reclaim path, in order.
    public private(set) var reclaimLog: [ReclaimAttempt] = []
    /// True while the reclaim path runs: a request made meanwhile (a guest the balloon step runs
    /// breaks a share) gets only free frames, so reclaiming never recurses.
    public private(set) var reclaiming = false

    private static let zeroFrame = [UInt8](repeating: 0, count: Int(MachineFrameAllocator.pageSize))

    /// `ramSize` bytes of `machine`'s RAM from `base`, all free.
    public init(machine: Machine, base: UInt32 = 0x8000_0000, ramSize: Int) {
        self.machine = machine
        allocator = MachineFrameAllocator(base: base, ramSize: ramSize)
    }

    public var freeFrames: Int { allocator.freeFrames }
    public var totalFrames: Int { allocator.frameCount }
    public func isFree(_ frame: UInt32) -> Bool { allocator.isFree(frame) }

    /// `count` scrubbed frames (lowest addresses first) for `purpose` ("dom2 memory"), reclaiming
    /// first if needed and allowed.
    public func take(_ count: Int, for purpose: String, reclaim: Bool = true) throws(AllotmentError) -> [UInt32] {
        if count > freeFrames && reclaim && !reclaiming && !reclaimSteps.isEmpty {
            runReclaimPath(needing: count, for: purpose)
        }
        guard count <= freeFrames else {
            var message = "\(purpose): asks for \(count) frames (\(count * 4) KiB) but only \(freeFrames) (\(freeFrames * 4) KiB) of the machine's RAM are free"
            if let attempt = reclaimLog.last, attempt.purpose == purpose, !attempt.granted {
                message += "; reclaim: " + attempt.steps.map { "\($0.name) freed \($0.freed) of \($0.asked)" }.joined(separator: ", ")
                    + "; allocation refused"
            }
            throw AllotmentError(message)
        }
        return try allocator.allocate(count, for: purpose)
    }

    /// Scrubs `frames` and makes them free.
    public func give(_ frames: [UInt32]) {
        for frame in frames { try? machine.writePhysical(frame, MachineFramePool.zeroFrame) }
        allocator.release(frames)
    }

    private func runReclaimPath(needing count: Int, for purpose: String) {
        reclaiming = true
        defer { reclaiming = false }
        var attempt = ReclaimAttempt(purpose: purpose, requested: count, freeBefore: freeFrames)
        for step in reclaimSteps where freeFrames < count {
            let before = freeFrames, asked = count - freeFrames
            step.reclaim(asked)
            attempt.steps.append(.init(name: step.name, asked: asked, freed: max(0, freeFrames - before)))
        }
        attempt.granted = freeFrames >= count
        reclaimLog.append(attempt)
    }
}

/// One way of getting frames back under memory pressure: `reclaim(n)` tries to free about n
/// frames into the pool (the pool measures what actually arrived).
public struct ReclaimStep {
    public let name: String
    public let reclaim: (Int) -> Void
    public init(name: String, reclaim: @escaping (Int) -> Void) {
        self.name = name
        self.reclaim = reclaim
    }
}

/// What the reclaim path did for one request.
public struct ReclaimAttempt: Equatable, Sendable, CustomStringConvertible {
    public struct Step: Equatable, Sendable {
        public var name: String
        /// Frames still missing when the step started.
        public var asked: Int
        /// Frames the step added to the pool.
        public var freed: Int
    }
    public var purpose: String
    public var requested: Int
    public var freeBefore: Int
    public var steps: [Step] = []
    public var granted = false

    public var description: String {
        "\(purpose): \(requested) frames wanted, \(freeBefore) free; "
            + steps.map { "\($0.name) freed \($0.freed) of \($0.asked)" }.joined(separator: ", ")
            + (granted ? "; granted" : "; refused")
    }
}
