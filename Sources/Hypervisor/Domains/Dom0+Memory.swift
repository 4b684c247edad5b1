import HypervisorCore
import Machine
import MemoryVirtualization

/// Dom0's memory over-commitment controls: page sharing across domains, balloon targets, the
/// reclaim path, and the accounting that says how much was promised, used and saved.
extension Dom0 {
    /// Wires a freshly built domain into the memory services: its frames become sharing
    /// candidates, a para-virtual domain gets balloon hypercalls, and any change to its p2m drops
    /// the shadow translations that could still reach the old frame.
    func adopt(_ vm: VirtualMachine, id: DomainID, name: String, weight: Int, shadowFrames: [UInt32],
               console: TaggedConsole) -> Domain {
        sharing.register(vm.memory, name: name)
        // (A frame given back or remapped drops its shadow entries: VirtualMachine.init registers
        // the pager's invalidate(guestFrame:) with observeRemapping.)
        vm.sharesHart = true
        let balloon = Balloon(name: name, memory: vm.memory, sharing: sharing)
        // Only a para-virtual guest makes hypercalls; a native kernel's ECALLs go to its firmware.
        if vm.hypercalls != nil { vm.hypercalls = BalloonHypercalls(balloon: balloon, next: vm.hypercalls) }
        return Domain(id: id, name: name, vm: vm, weight: weight, balloon: balloon, shadowFrames: shadowFrames, console: console)
    }

    /// Merges identical frames across all domains now (an ESX sharing scan).
    @discardableResult
    public func sharePages() -> PageSharing.ScanResult { sharing.scan() }

    /// Asks `id`'s balloon driver to hold `frames` frames (give back frames until it does, or ask
    /// for them again when the target drops). Takes effect as the guest runs and polls.
    public func setBalloonTarget(_ id: DomainID, frames: Int) throws(HypervisorError) {
        guard let domain = domain(id) else { throw HypervisorError("\(id): no such domain") }
        guard frames >= 0, frames <= domain.vm.memory.frameCount else {
            throw HypervisorError("\(domain.name): balloon target of \(frames) frames is outside 0...\(domain.vm.memory.frameCount)")
        }
        domain.balloon.setTarget(frames)
    }

    /// How the machine's memory is spent across the domains.
    public func memoryReport() -> MemoryReport {
        var report = MemoryReport()
        for domain in domains {
            let memory = domain.vm.memory
            report.framesPromised += memory.frameCount
            report.framesBallooned += domain.balloon.size
            report.shadowFrames += domain.shadowFrames.count
        }
        report.framesShared = sharing.sharedFrames
        report.framesSaved = sharing.framesSaved
        report.zeroFramesSaved = sharing.zeroFramesSaved
        report.framesUsed = report.framesPromised - report.framesBallooned - report.framesSaved
        report.shareBreaks = sharing.statistics.shareBreaks
        report.machineFrames = frames.totalFrames
        report.freeFrames = frames.freeFrames
        return report
    }

    /// The reclaim path (Configuration.overcommit): balloon first, then sharing; the pool refuses
    /// what they cannot cover.
    func installReclaimPath() {
        frames.reclaimSteps = [
            ReclaimStep(name: "balloon") { [unowned self] frames in reclaimByBallooning(frames) },
            ReclaimStep(name: "sharing") { [unowned self] _ in sharePages() },
        ]
    }

    /// Raises the balloon targets of the runnable domains that have a driver, spreading `needed`
    /// frames over them, then (unless a guest is running right now: a share break in the middle of
    /// a store cannot wait for other guests) runs them until the frames arrive or their slices run out.
    func reclaimByBallooning(_ needed: Int) {
        let ballooning = domains.filter { $0.state == .runnable && $0.balloon.hasDriver }
        guard !ballooning.isEmpty else { return }
        let goal = frames.freeFrames + needed
        var remaining = needed
        for (index, domain) in ballooning.enumerated() {
            let share = (remaining + (ballooning.count - index) - 1) / (ballooning.count - index)
            domain.balloon.setTarget(domain.balloon.target + share)
            remaining -= share
        }
        guard !runningGuest else { return }
        for _ in 0..<configuration.balloonReclaimSlices where frames.freeFrames < goal {
            let running = ballooning.filter { $0.state == .runnable }
            if running.isEmpty { break }
            for domain in running where frames.freeFrames < goal { runSlice(of: domain) }
        }
    }
}

/// Where the machine's frames went (`Dom0.memoryReport()`), in 4 KiB frames.
public struct MemoryReport: Equatable, Sendable, CustomStringConvertible {
    /// Guest frames the domains were promised (their memory sizes).
    public var framesPromised = 0
    /// Machine frames actually behind the domains' memory.
    public var framesUsed = 0
    /// Guest frames given back through balloons.
    public var framesBallooned = 0
    /// Machine frames mapped by two or more guest frames.
    public var framesShared = 0
    /// Machine frames page sharing saves (guest frames on shared frames minus the shared frames).
    public var framesSaved = 0
    /// Of those, frames that are all zero.
    public var zeroFramesSaved = 0
    /// Private copies made because a guest wrote to a shared frame.
    public var shareBreaks = 0
    /// The VMM's frames for shadow tables (not guest memory).
    public var shadowFrames = 0
    public var machineFrames = 0
    public var freeFrames = 0

    public var description: String {
        "promised \(framesPromised) frames, used \(framesUsed), saved by sharing \(framesSaved) (\(zeroFramesSaved) zero), "
            + "ballooned \(framesBallooned), share breaks \(shareBreaks); machine \(machineFrames) frames, \(freeFrames) free"
    }
}
