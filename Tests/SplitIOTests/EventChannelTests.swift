import Testing
@testable import SplitIO

@Suite("EventChannels")
struct EventChannelTests {
    let dom1 = DomainID(1), dom2 = DomainID(2)

    /// dom1 offers a port to dom0; dom0 binds it.
    func bound() throws -> (EventChannels, front: EventPort, back: EventPort) {
        let events = EventChannels()
        let front = try events.allocateUnbound(in: dom1, remote: .dom0)
        let back = try events.bindInterdomain(in: .dom0, remoteDomain: dom1, remotePort: front)
        return (events, front, back)
    }

    @Test("send sets the peer's pending bit and raises one upcall through the hook")
    func sendAndUpcall() throws {
        let (events, front, back) = try bound()
        var upcalls: [DomainID] = []
        events.upcall = { upcalls.append($0) }
        try events.send(from: dom1, port: front)
        #expect(events.isPending(back, in: .dom0))
        #expect(events.isUpcallPending(.dom0))
        #expect(upcalls == [.dom0])
        #expect(events.pendingPorts(in: .dom0) == [back])
        // The other direction works too.
        try events.send(from: .dom0, port: back)
        #expect(events.isPending(front, in: dom1))
        #expect(upcalls == [.dom0, dom1])
    }

    @Test("pending bits coalesce: many sends before the receiver looks raise one upcall")
    func coalescing() throws {
        let (events, front, back) = try bound()
        var upcalls = 0
        events.upcall = { _ in upcalls += 1 }
        for _ in 0..<1000 { try events.send(from: dom1, port: front) }
        #expect(upcalls == 1)
        #expect(events.sendCount[dom1] == 1000)
        events.acknowledgeUpcall(.dom0)
        #expect(try events.clearPending(back, in: .dom0))
        #expect(try !events.clearPending(back, in: .dom0))
        try events.send(from: dom1, port: front)
        #expect(upcalls == 2)
    }

    @Test("a masked port collects the event without an upcall; unmasking delivers it")
    func masking() throws {
        let (events, front, back) = try bound()
        var upcalls = 0
        events.upcall = { _ in upcalls += 1 }
        try events.mask(back, in: .dom0)
        try events.send(from: dom1, port: front)
        #expect(events.isPending(back, in: .dom0))
        #expect(upcalls == 0)
        #expect(events.pendingPorts(in: .dom0).isEmpty)
        try events.unmask(back, in: .dom0)
        #expect(upcalls == 1)
        #expect(events.pendingPorts(in: .dom0) == [back])
        // Unmasking with nothing pending raises nothing.
        _ = try events.clearPending(back, in: .dom0)
        events.acknowledgeUpcall(.dom0)
        try events.mask(back, in: .dom0)
        try events.unmask(back, in: .dom0)
        #expect(upcalls == 1)
    }

    @Test("binding needs an unbound port offered to the binding domain; sending needs a connection")
    func bindingRules() throws {
        let events = EventChannels()
        let offered = try events.allocateUnbound(in: dom1, remote: .dom0)
        let wrongDomain = #expect(throws: SplitIOError.self) {
            _ = try events.bindInterdomain(in: dom2, remoteDomain: dom1, remotePort: offered)
        }
        #expect(wrongDomain?.code == .badPort)
        #expect(throws: SplitIOError.self) { try events.send(from: dom1, port: offered) }
        #expect(throws: SplitIOError.self) { try events.send(from: dom1, port: EventPort(0)) }
        #expect(throws: SplitIOError.self) { try events.send(from: dom1, port: EventPort(9999)) }
        _ = try events.bindInterdomain(in: .dom0, remoteDomain: dom1, remotePort: offered)
        // Already bound: cannot be bound a second time.
        #expect(throws: SplitIOError.self) {
            _ = try events.bindInterdomain(in: .dom0, remoteDomain: dom1, remotePort: offered)
        }
    }

    @Test("closing one end returns the peer to unbound, so it can be bound again")
    func close() throws {
        let (events, front, back) = try bound()
        try events.close(back, in: .dom0)
        #expect(throws: SplitIOError.self) { try events.send(from: .dom0, port: back) }
        #expect(throws: SplitIOError.self) { try events.send(from: dom1, port: front) }
        let again = try events.bindInterdomain(in: .dom0, remoteDomain: dom1, remotePort: front)
        try events.send(from: dom1, port: front)
        #expect(events.isPending(again, in: .dom0))
    }

    @Test("ports are bounded per domain")
    func bounded() throws {
        let events = EventChannels(portsPerDomain: 4)
        for _ in 0..<3 { _ = try events.allocateUnbound(in: dom1, remote: .dom0) }
        let full = #expect(throws: SplitIOError.self) { _ = try events.allocateUnbound(in: dom1, remote: .dom0) }
        #expect(full?.code == .tableFull)
    }
}
