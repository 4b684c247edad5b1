import HypervisorCore
import SplitIOSupport

/// The one hypercall networking adds to `IOHypercallABI` (Sources/VLabCLI/Guests/net/net-abi.h).
public enum NetHypercallABI {
    /// a0 = TX ring grant, a1 = RX ring grant, a2 = event port: ask Dom0's netback to connect a
    /// vif (what xenstore's tx-ring-ref, rx-ring-ref and event-channel keys carry in Xen).
    public static let connect: UInt32 = 0x110
}

/// The hypercall handler of every domain `NetHost` attaches.
struct NetHypercalls: HypercallHandler {
    unowned let host: NetHost
    let domain: SplitIOSupport.DomainID

    mutating func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome? {
        let number = vcpu.register(17)
        guard IOHypercallABI.range.contains(number), vcpu.privilege != .user else { return nil }
        let result = host.serve(number, vcpu: &vcpu, from: domain, platform: platform)
        vcpu.setRegister(10, UInt32(bitPattern: result))
        vcpu.pc &+= 4
        switch number {
        case IOHypercallABI.block where result == 1: return .block   // Dom0 runs another domain until an event comes
        case IOHypercallABI.yield: return .yield
        default: return .completed
        }
    }
}
