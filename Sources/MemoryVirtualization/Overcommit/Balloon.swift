import HypervisorCore
import Machine

/// The balloon hypercalls of `kernel-pv.elf`'s balloon driver (Sources/VLabCLI/Guests/kernel/balloon.h
/// and the kernel README's table; the numbers here must match the header). Same convention as the
/// other hypercalls: ECALL from virtual S-mode, number in a7, arguments in a0.., result in a0,
/// negative SBI error codes.
public enum BalloonABI {
    /// a0 = guest-physical address of a word the driver polls: the VMM writes the balloon target
    /// there (frames the balloon should hold). Returns the guest's RAM in frames.
    public static let register: UInt32 = 0x16
    /// a0 = guest-physical address of a page: the guest gives that frame back. Returns 0.
    public static let give: UInt32 = 0x17
    /// a0 = guest-physical address of a page it gave back: the guest asks for a frame there again.
    /// Returns 0, or -1 when no machine frame is free (the guest tries again later).
    public static let take: UInt32 = 0x18

    public static let errorFailed: Int32 = -1
    public static let errorNotSupported: Int32 = -2
    public static let errorInvalidParameter: Int32 = -3
    public static let errorInvalidAddress: Int32 = -5
}

/// The VMM's side of one guest's balloon (ESX's "balloon target", Xen's memory target): the VMM
/// sets a target, the guest's driver sees it (a word in guest memory it polls), allocates that
/// many pages inside the guest, so the guest's own allocator decides what it can spare, and gives
/// their frames back; lowering the target makes it ask for frames again.
public final class Balloon {
    public let name: String
    public let memory: GuestMemory
    let sharing: PageSharing
    /// Where the driver polls the target, once it has registered.
    public private(set) var targetWord: UInt32? = nil
    /// Frames the VMM wants the balloon to hold.
    public private(set) var target = 0
    /// Guest frames currently given back.
    public private(set) var frames: Set<Int> = []
    /// Calls refused (bad address, a frame not given back, no machine frame free).
    public private(set) var refusals = 0

    public init(name: String, memory: GuestMemory, sharing: PageSharing) {
        self.name = name
        self.memory = memory
        self.sharing = sharing
    }

    /// Frames the balloon holds.
    public var size: Int { frames.count }
    /// Whether a driver in the guest has registered (only then can a target have any effect).
    public var hasDriver: Bool { targetWord != nil }

    /// Sets the target and tells the driver (if one registered; else it learns on registration).
    public func setTarget(_ frames: Int) {
        target = max(0, min(frames, memory.frameCount))
        publishTarget()
    }

    private func publishTarget() {
        if let targetWord { memory.write32(targetWord, UInt32(target)) }
    }

    // MARK: The hypercalls

    func register(_ address: UInt32) -> Int32 {
        guard address & 3 == 0, memory.contains(address, count: 4) else { return BalloonABI.errorInvalidAddress }
        targetWord = address
        publishTarget()
        return Int32(clamping: memory.frameCount)
    }

    func give(_ address: UInt32) -> Int32 {
        guard address & 0xFFF == 0, let frame = memory.frameIndex(containing: address) else { return BalloonABI.errorInvalidAddress }
        guard !frames.contains(frame), sharing.release(frame: frame, of: memory) else { return BalloonABI.errorInvalidParameter }
        frames.insert(frame)
        return 0
    }

    func take(_ address: UInt32) -> Int32 {
        guard address & 0xFFF == 0, let frame = memory.frameIndex(containing: address) else { return BalloonABI.errorInvalidAddress }
        guard frames.contains(frame) else { return BalloonABI.errorInvalidParameter }
        // A guest asking back memory under pressure is refused, not served by reclaiming from others.
        guard let fresh = try? sharing.pool.take(1, for: "\(name) balloon", reclaim: false).first else { return BalloonABI.errorFailed }
        memory.remap(frame: frame, to: fresh, writable: true)
        frames.remove(frame)
        return 0
    }

    /// Serves balloon hypercall `number` with argument `a0` and returns what goes into a0.
    public func serve(_ number: UInt32, _ a0: UInt32) -> Int32 {
        let result: Int32
        switch number {
        case BalloonABI.register: result = register(a0)
        case BalloonABI.give: result = give(a0)
        case BalloonABI.take: result = take(a0)
        default: result = BalloonABI.errorNotSupported
        }
        if result < 0 { refusals += 1 }
        return result
    }
}

/// Serves the balloon hypercalls for one guest and hands every other ECALL to the handler it
/// wraps (the para-virtual mode's), so a domain gets a balloon without that mode knowing of it.
public final class BalloonHypercalls: HypercallHandler {
    public let balloon: Balloon
    var next: (any HypercallHandler)?

    public init(balloon: Balloon, next: (any HypercallHandler)?) {
        self.balloon = balloon
        self.next = next
    }

    public func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome? {
        let number = vcpu.register(17)
        guard vcpu.privilege == .supervisor, (BalloonABI.register...BalloonABI.take).contains(number) else {
            guard var next else { return nil }
            let outcome = next.hypercall(vcpu: &vcpu, platform: platform)
            self.next = next
            return outcome
        }
        let result = balloon.serve(number, vcpu.register(10))
        vcpu.setRegister(10, UInt32(bitPattern: result))
        vcpu.pc &+= 4
        return .completed
    }
}
