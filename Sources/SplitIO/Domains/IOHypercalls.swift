import HypervisorCore

/// The I/O hypercall interface of VirtLab's domains, as the VMM sees it. The guest side (and the
/// table in prose) is Sources/VLabCLI/Guests/io/io-abi.h; the numbers must match.
///
/// ECALL from the guest's kernel (virtual S- or M-mode): number in a7, arguments in a0-a1, result
/// in a0. Addresses are guest-physical: the VMM translates them through the domain's p2m, so a
/// guest can grant, and a device can reach, only the domain's own frames. Errors are negative.
public enum IOHypercallABI {
    public static let grant: UInt32 = 0x100
    public static let grantEnd: UInt32 = 0x101
    public static let eventAllocate: UInt32 = 0x102
    public static let eventSend: UInt32 = 0x103
    public static let eventAcknowledge: UInt32 = 0x104
    public static let block: UInt32 = 0x105
    public static let blockConnect: UInt32 = 0x106
    public static let mark: UInt32 = 0x107
    public static let shutdown: UInt32 = 0x108
    public static let passthroughAssign: UInt32 = 0x109
    /// The domain's split-driver disk: its size in 512-byte sectors (clamped to `Int32.max`), or
    /// `notSupported` when it has none. The teaching kernel's blkfront asks this at boot.
    public static let blockProbe: UInt32 = 0x10A
    /// SCHEDOP_yield: give up the rest of the slice, staying runnable (0).
    public static let yield: UInt32 = 0x10B
    /// Numbers in this range are I/O hypercalls; other ECALLs go to the guest as usual.
    public static let range: ClosedRange<UInt32> = 0x100...0x1FF

    public static let failed: Int32 = -1
    public static let notSupported: Int32 = -2
    public static let invalidParameter: Int32 = -3
    public static let denied: Int32 = -4

    /// The virtual interrupt that carries upcalls and device completions: mip.SEIP.
    public static let upcallInterrupt = InterruptBits.supervisorExternal
}

/// The hypercall handler installed in every domain `IOHost` attaches: it hands each I/O ECALL to
/// the host with the domain it came from (a guest cannot claim to be another domain: the VMM
/// knows which vCPU trapped). Every other ECALL goes to `next`, the handler the domain had before
/// (for a para-virtual kernel, its mode's `ParavirtualHost`), or to the guest when there is none.
struct IOHypercalls: HypercallHandler {
    unowned let host: IOHost
    let domain: DomainID
    var next: (any HypercallHandler)? = nil

    mutating func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome? {
        let number = vcpu.register(17)
        guard IOHypercallABI.range.contains(number), vcpu.privilege != .user else {
            guard var next else { return nil }
            let outcome = next.hypercall(vcpu: &vcpu, platform: platform)
            self.next = next
            return outcome
        }
        let result = host.serve(number, vcpu: &vcpu, from: domain, platform: platform)
        vcpu.setRegister(10, UInt32(bitPattern: result))
        vcpu.pc &+= 4
        // (block needs no help from the core here: Dom0's backend and the devices run on the
        // hypercall itself, so by the time it returns 0 the event is pending.)
        return number == IOHypercallABI.yield ? .yield : .completed
    }
}
