import SplitIOSupport
import Testing

/// Notification suppression: the backend notifies only when the frontend asked (`rsp_event`), and
/// before going idle it asks to be notified of the next request (`req_event`) and looks again.
@Suite struct NotificationTests {
    @Test func notifiesOnlyWhenRspEventIsPassed() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        let page = try front.grant(0)
        // The frontend wants to hear only after the 4th response.
        try front.ring.requestNotification(afterResponses: 4)
        let first = try front.roundTrip(front.request(.read, id: 1, sector: 0, [page]), front.request(.read, id: 2, sector: 8, [page]),
                                        front.request(.read, id: 3, sector: 16, [page]))
        #expect(first.map(\.status) == [.okay, .okay, .okay])
        #expect(!fixture.events.isPending(front.port, in: front.domain), "notified although rsp_event asked for the 4th response")
        let fourth = try front.roundTrip(front.request(.read, id: 4, sector: 24, [page]))
        #expect(fourth.map(\.status) == [.okay])
        #expect(fixture.events.isPending(front.port, in: front.domain), "not notified when rsp_prod passed rsp_event")
        // A stale rsp_event (behind everything published) asks for nothing.
        _ = try fixture.events.clearPending(front.port, in: front.domain)
        #expect(try front.roundTrip(front.request(.read, id: 5, sector: 0, [page])).count == 1)
        #expect(!fixture.events.isPending(front.port, in: front.domain))
    }

    @Test func finalCheckAsksForTheNextRequest() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        let page = try front.grant(0)
        for id in 1...5 { _ = try front.roundTrip(front.request(.read, id: UInt64(id), sector: 0, [page])) }
        // Idle after 5 requests: req_event = req_cons + 1.
        #expect(try front.ring.shared.requestEvent() == 6)
        // The well-behaved frontend therefore notifies for its next request, and only then.
        let (honest, _, _) = try fixture.connectedFrontend(DomainID(2))
        _ = try honest.submitRead(sector: 0, sectorCount: 1)
        #expect(try honest.push())
        fixture.runBackend()
        #expect(try honest.collect().count == 1)
        #expect(honest.notificationsSent == 1)
    }

    /// Work left on the ring by the per-pass budget is picked up without a new notification.
    @Test func leftoverWorkNeedsNoNewNotification() throws {
        let fixture = try Fixture(requestsPerPass: 2)
        let front = try HandmadeFrontend(fixture, DomainID(1))
        let page = try front.grant(0)
        for id in 1...7 { try front.ring.enqueue(front.request(.read, id: UInt64(id), sector: 0, [page])) }
        try front.ring.pushRequests()
        try front.notify()
        let passes = fixture.runBackend()
        #expect(try front.responses().map(\.id) == Array(1...7))
        #expect(passes >= 4)
    }

    /// A request published between the backend's last look and its req_event update is still
    /// found: the second look of the final check.
    @Test func finalCheckLooksAgainAfterSettingReqEvent() throws {
        let fixture = try Fixture()
        let front = try HandmadeFrontend(fixture, DomainID(1))
        let page = try front.grant(0)
        try front.ring.enqueue(front.request(.read, id: 1, sector: 0, [page]))
        try front.ring.pushRequests()
        try front.notify()
        // Right after the backend writes req_event, the frontend publishes one more request
        // without notifying (it read req_event before the update, as the race goes).
        let reqEventAddress = front.ringFrame.address + 4
        var sneaked = false
        fixture.watched.afterWrite = { address, _ in
            guard address == reqEventAddress, !sneaked else { return }
            sneaked = true
            try? front.ring.enqueue(front.request(.read, id: 2, sector: 8, [page]))
            try? front.ring.pushRequests()
        }
        fixture.runBackend()
        fixture.watched.afterWrite = nil
        #expect(sneaked, "the backend never wrote req_event")
        #expect(try front.responses().map(\.id) == [1, 2])
    }
}
