@testable import SplitIO

/// The block tests' machine and hypervisor tables (`SplitIOFixture`) with Dom0's network backend
/// and bridge on them: the backend reaches guest memory through the fixture's watched memory.
final class NetFixture {
    let base: SplitIOFixture
    let backend: NetBackend

    init(limits: NetBackend.Limits = .init(), bridgeCapacity: Int = 256) throws {
        base = try SplitIOFixture(ramSize: 2 << 20)
        backend = NetBackend(grants: base.grants, events: base.events, bridge: NetBridge(capacity: bridgeCapacity), limits: limits)
    }

    var grants: GrantTables { base.grants }
    var events: EventChannels { base.events }

    /// A DomU's netfront with `buffers` buffer pages (half TX, half RX), not yet connected.
    func frontend(_ domain: DomainID, buffers: Int = 16) throws -> NetFrontend {
        try NetFrontend(domain: domain, memory: base.ram, grants: grants, events: events,
                        frames: base.giveFrames(to: domain, count: buffers + 2))
    }

    /// A frontend connected to the backend; `post` puts its RX buffers on the ring.
    func connected(_ domain: DomainID, buffers: Int = 16, post: Bool = true) throws -> (front: NetFrontend, vif: NetBackend.VifID) {
        let front = try frontend(domain, buffers: buffers)
        let vif = try backend.connect(frontend: domain, transmitRing: front.transmitRingReference,
                                      receiveRing: front.receiveRingReference, eventPort: front.eventPort)
        if post { try front.postReceiveBuffers() }
        return (front, vif)
    }

    /// Runs the backend as the hypervisor does: a pass while Dom0's upcall is pending or work is
    /// left over. Returns the passes (bounded, so a bug cannot hang a test).
    @discardableResult
    func runBackend(maxPasses: Int = 1000) -> Int {
        var passes = 0
        while passes < maxPasses && (events.isUpcallPending(.dom0) || backend.hasPendingWork) {
            backend.service()
            passes += 1
        }
        return passes
    }

    /// Sends frames from `front` and lets the backend switch them.
    func transmit(_ front: NetFrontend, _ frames: [[UInt8]]) throws {
        for frame in frames { try front.send(frame) }
        try front.push()
        runBackend()
    }
}

/// An Ethernet frame: destination, source, EtherType, payload.
func ethernetFrame(to destination: MACAddress, from source: MACAddress, type: UInt16 = 0x88B5, payload: [UInt8]) -> [UInt8] {
    destination.bytes + source.bytes + [UInt8(type >> 8), UInt8(type & 0xFF)] + payload
}
