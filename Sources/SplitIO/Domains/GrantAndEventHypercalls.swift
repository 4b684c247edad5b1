import HypervisorCore
import SplitIOSupport

/// The grant-table and event-channel hypercalls, served the same way by every split-driver host
/// (`IOHost` for disks, `NetHost` for the network): a guest grants Dom0 one of its frames, ends a
/// grant, allocates an event port, sends on it, and acknowledges its upcalls.
struct GrantAndEventHypercalls {
    let grants: GrantTables
    let events: EventChannels

    /// Serves `number` for `domain` if it is one of these calls; nil if it is not (the host serves
    /// it). `sent` runs after a successful event send: the host counts it and lets Dom0's backend run.
    func serve(_ number: UInt32, vcpu: inout VirtualCPU, from domain: DomainID, memory: GuestMemory,
               sent: () -> Void) -> Int32? {
        let a0 = vcpu.register(10), a1 = vcpu.register(11)
        switch number {
        case IOHypercallABI.grant:
            // The guest names a guest-physical frame; the grant is of the machine frame behind it.
            guard a0 % UInt32(pageSize) == 0, let machine = memory.machineAddress(of: a0) else {
                return IOHypercallABI.invalidParameter
            }
            let reference = try? grants.grantAccess(from: domain, to: .dom0, frame: FrameNumber(containing: machine),
                                                    access: a1 == 1 ? .readOnly : .readWrite)
            return reference.map { Int32(bitPattern: $0.rawValue) } ?? IOHypercallABI.denied
        case IOHypercallABI.grantEnd:
            return (try? grants.endAccess(GrantReference(a0), by: domain)) != nil ? 0 : IOHypercallABI.denied
        case IOHypercallABI.eventAllocate:
            let port = try? events.allocateUnbound(in: domain, remote: .dom0)
            return port.map { Int32(bitPattern: $0.rawValue) } ?? IOHypercallABI.failed
        case IOHypercallABI.eventSend:
            guard (try? events.send(from: domain, port: EventPort(a0))) != nil else { return IOHypercallABI.invalidParameter }
            sent()
            return 0
        case IOHypercallABI.eventAcknowledge:
            // Clears the upcall and every pending port; the guest learns which ports fired (the first 32).
            events.acknowledgeUpcall(domain)
            var mask: UInt32 = 0
            for port in events.pendingPorts(in: domain) where (try? events.clearPending(port, in: domain)) == true {
                if port.rawValue < 32 { mask |= 1 << port.rawValue }
            }
            vcpu.csrs.mip &= ~IOHypercallABI.upcallInterrupt
            return Int32(bitPattern: mask)
        default:
            return nil
        }
    }
}
