/// An event-channel port, local to one domain (Xen's `evtchn_port_t`).
public struct EventPort: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { "port \(rawValue)" }
}

/// Event channels: the split driver's doorbell, Xen's virtual interrupt lines between domains.
///
/// A port is *unbound* (allocated by a domain for one named remote domain to bind to) or
/// *interdomain* (connected to a port of another domain). `send` on one end sets the *pending*
/// bit of the other end. If that port is not *masked* and the bit was clear, the receiving
/// domain's *upcall-pending* flag is set, and if that flag was clear the `upcall` hook runs:
/// the hypervisor turns it into a virtual interrupt for the domain's vCPU. Pending bits
/// coalesce: a thousand sends before the receiver looks cost it one upcall and one look, which
/// is what makes an event storm from a hostile guest harmless to the receiver.
///
/// Not Sendable: confined to the thread that runs the machine.
public final class EventChannels {
    enum Binding: Equatable {
        case unbound(remote: DomainID)
        case interdomain(remote: DomainID, remotePort: EventPort)
    }

    struct Port {
        var binding: Binding
        var pending = false
        var masked = false
    }

    /// Ports per domain. A fixed bound keeps a guest from growing hypervisor memory.
    public let portsPerDomain: Int
    /// Called when a domain's upcall-pending flag goes from clear to set: deliver a virtual
    /// interrupt to that domain. The receiver clears the flag (`acknowledgeUpcall`) and scans
    /// its pending ports.
    public var upcall: ((DomainID) -> Void)?

    private var ports: [DomainID: [Port?]] = [:]
    private var upcallPending: Set<DomainID> = []
    /// Sends each domain has made, and upcalls each has received: the measurements of
    /// notification counts (and the evidence in event-storm tests).
    public private(set) var sendCount: [DomainID: Int] = [:]
    public private(set) var upcallCount: [DomainID: Int] = [:]

    public init(portsPerDomain: Int = 64) {
        self.portsPerDomain = max(2, portsPerDomain)
    }

    /// `EVTCHNOP_alloc_unbound`: a new port in `domain` that `remote` may bind to.
    public func allocateUnbound(in domain: DomainID, remote: DomainID) throws(SplitIOError) -> EventPort {
        try allocate(in: domain, Port(binding: .unbound(remote: remote)))
    }

    /// `EVTCHNOP_bind_interdomain`: connects a new port of `domain` to `remotePort`, an unbound
    /// port of `remoteDomain` that was allocated for `domain`. Both ends become interdomain.
    public func bindInterdomain(in domain: DomainID, remoteDomain: DomainID,
                                remotePort: EventPort) throws(SplitIOError) -> EventPort {
        let remote = try port(remotePort, of: remoteDomain)
        guard remote.binding == .unbound(remote: domain) else {
            throw SplitIOError(.badPort, "\(remoteDomain) \(remotePort) is not an unbound port offered to \(domain)")
        }
        let local = try allocate(in: domain, Port(binding: .interdomain(remote: remoteDomain, remotePort: remotePort)))
        ports[remoteDomain]?[Int(remotePort.rawValue)]?.binding = .interdomain(remote: domain, remotePort: local)
        return local
    }

    /// `EVTCHNOP_send`: notify the other end of an interdomain port.
    public func send(from domain: DomainID, port local: EventPort) throws(SplitIOError) {
        guard case .interdomain(let remote, let remotePort) = try port(local, of: domain).binding else {
            throw SplitIOError(.badPort, "\(domain) \(local) is not connected to another domain")
        }
        sendCount[domain, default: 0] += 1
        setPending(remote, remotePort)
    }

    /// `EVTCHNOP_close`: frees a port. An interdomain peer goes back to unbound, offered to us,
    /// as in Xen, so a reconnecting domain can bind it again.
    public func close(_ local: EventPort, in domain: DomainID) throws(SplitIOError) {
        let closing = try port(local, of: domain)
        if case .interdomain(let remote, let remotePort) = closing.binding {
            ports[remote]?[Int(remotePort.rawValue)]?.binding = .unbound(remote: domain)
        }
        ports[domain]?[Int(local.rawValue)] = nil
    }

    /// Masks a port: events still set its pending bit, but raise no upcall.
    public func mask(_ local: EventPort, in domain: DomainID) throws(SplitIOError) {
        _ = try port(local, of: domain)
        ports[domain]?[Int(local.rawValue)]?.masked = true
    }

    /// Unmasks a port; an event that arrived while masked raises its upcall now.
    public func unmask(_ local: EventPort, in domain: DomainID) throws(SplitIOError) {
        let current = try port(local, of: domain)
        ports[domain]?[Int(local.rawValue)]?.masked = false
        if current.pending { raiseUpcall(domain) }
    }

    public func isPending(_ local: EventPort, in domain: DomainID) -> Bool {
        (try? port(local, of: domain))?.pending ?? false
    }

    public func isMasked(_ local: EventPort, in domain: DomainID) -> Bool {
        (try? port(local, of: domain))?.masked ?? false
    }

    /// Clears a port's pending bit and reports whether it was set (the receiver's "test and clear").
    public func clearPending(_ local: EventPort, in domain: DomainID) throws(SplitIOError) -> Bool {
        let wasPending = try port(local, of: domain).pending
        ports[domain]?[Int(local.rawValue)]?.pending = false
        return wasPending
    }

    /// The domain's pending, unmasked ports, in port order: what its upcall handler scans.
    public func pendingPorts(in domain: DomainID) -> [EventPort] {
        guard let table = ports[domain] else { return [] }
        return table.indices.compactMap { index in
            guard let port = table[index], port.pending, !port.masked else { return nil }
            return EventPort(UInt32(index))
        }
    }

    public func isUpcallPending(_ domain: DomainID) -> Bool { upcallPending.contains(domain) }

    /// The receiver's acknowledgement (clearing `evtchn_upcall_pending`); returns whether it was set.
    @discardableResult
    public func acknowledgeUpcall(_ domain: DomainID) -> Bool {
        upcallPending.remove(domain) != nil
    }

    // MARK: Internals

    private func allocate(in domain: DomainID, _ newPort: Port) throws(SplitIOError) -> EventPort {
        var table = ports[domain] ?? Array(repeating: nil, count: portsPerDomain)
        // Port 0 is never used, as in Xen: a zero in a shared structure then means "no port".
        guard let free = table.indices.dropFirst().first(where: { table[$0] == nil }) else {
            throw SplitIOError(.tableFull, "\(domain) has no free event port (\(portsPerDomain - 1) in use)")
        }
        table[free] = newPort
        ports[domain] = table
        return EventPort(UInt32(free))
    }

    private func port(_ local: EventPort, of domain: DomainID) throws(SplitIOError) -> Port {
        let index = Int(local.rawValue)
        guard index > 0, index < portsPerDomain, let table = ports[domain], let port = table[index] else {
            throw SplitIOError(.badPort, "\(domain) has no open \(local)")
        }
        return port
    }

    private func setPending(_ domain: DomainID, _ local: EventPort) {
        guard let port = ports[domain]?[Int(local.rawValue)] ?? nil else { return }
        ports[domain]?[Int(local.rawValue)]?.pending = true
        if !port.pending && !port.masked { raiseUpcall(domain) }
    }

    private func raiseUpcall(_ domain: DomainID) {
        guard upcallPending.insert(domain).inserted else { return }
        upcallCount[domain, default: 0] += 1
        upcall?(domain)
    }
}

@available(*, unavailable, message: "event channels are confined to the thread that runs the machine")
extension EventChannels: Sendable {}
