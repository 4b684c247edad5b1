import Foundation
import Testing
@testable import SplitIO

/// The "bad input" list, the history of Xen's block and network backend advisories as
/// tests: each plays a frontend that breaks the protocol in one way, and checks that the backend
/// answers errors or disconnects that frontend, keeps serving the others, touches nothing outside
/// the granted frames, leaks nothing, and bounds its own memory.
@Suite("HostileFrontend")
struct HostileFrontendTests {
    let dom1 = DomainID(1), dom2 = DomainID(2), dom3 = DomainID(3)

    func isDisconnected(_ front: HandmadeFrontend, mentioning words: String) -> Bool {
        guard case .disconnected(let reason) = front.state else { return false }
        return reason.contains(words)
    }

    /// A well-behaved frontend writes and reads back one sector: proof the backend still serves it.
    func honestRoundTrip(_ fixture: SplitIOFixture, _ front: BlockFrontend, sector: UInt64, seed: UInt8) throws {
        let data = pattern(seed, count: 512)
        _ = try front.submitWrite(sector: sector, data: data)
        let read = try front.submitRead(sector: sector, sectorCount: 1)
        try front.push()
        fixture.runBackend()
        let done = try front.collect()
        #expect(done.map(\.status) == [.okay, .okay])
        #expect(done.first { $0.id == read }?.data == data)
    }

    @Test("req_prod moved backwards: the frontend is disconnected, the others go on")
    func requestProducerBackwards() throws {
        let fixture = try SplitIOFixture()
        let bad = try HandmadeFrontend(fixture, dom1)
        let sneaky = try HandmadeFrontend(fixture, dom2)
        let (honest, _, _) = try fixture.connectedFrontend(dom3)
        let page = try bad.grant(0)
        let answers = try bad.roundTrip(bad.request(.read, id: 1, sector: 0, [page]), bad.request(.read, id: 2, sector: 8, [page]),
                                        bad.request(.read, id: 3, sector: 16, [page]))
        #expect(answers.map(\.status) == [.okay, .okay, .okay])
        try bad.scribbleRequestProducer(1)  // behind the 3 requests already answered
        try bad.notify()

        // Backwards while requests are still in flight (accepted, not yet answered).
        let page2 = try sneaky.grant(0)
        for id in 1...4 { try sneaky.ring.enqueue(sneaky.request(.read, id: UInt64(id), sector: 0, [page2])) }
        try sneaky.ring.pushRequests()
        try sneaky.notify()
        fixture.backend.acceptRequests()
        #expect(fixture.backend.requestsInFlight(of: sneaky.connection) == 4)
        try sneaky.scribbleRequestProducer(2)
        try sneaky.notify()
        fixture.backend.acceptRequests()

        #expect(isDisconnected(bad, mentioning: "req_prod 1"))
        #expect(isDisconnected(sneaky, mentioning: "moved backwards behind req_cons 4"))
        #expect(fixture.backend.requestsHeld == 0)
        try honestRoundTrip(fixture, honest, sector: 5, seed: 1)
        // Disconnected: the ring is unmapped (the frontend may take its page back) and its
        // event channel no longer reaches the backend.
        #expect(fixture.grants.mappingCount(bad.ringReference, of: dom1) == 0)
        try fixture.grants.endAccess(bad.ringReference, by: dom1)
        #expect(throws: SplitIOError.self) { try bad.notify() }
    }

    @Test("req_prod more than a ring's worth ahead: disconnected; exactly a ring's worth is legal")
    func requestProducerTooFarAhead() throws {
        let fixture = try SplitIOFixture()
        let full = try HandmadeFrontend(fixture, dom1)
        let over = try HandmadeFrontend(fixture, dom2)
        let far = try HandmadeFrontend(fixture, dom3)
        let (honest, _, _) = try fixture.connectedFrontend(DomainID(4))
        // 32 FLUSH-free, cheap requests (unknown operation) fill the ring exactly.
        for index in 0..<32 as Range<UInt32> {
            try full.scribbleSlot(index, BlockRequest(operation: BlockOpcode(rawValue: 99), id: UInt64(index), sector: 0, segments: []))
        }
        try full.scribbleRequestProducer(32)
        try full.notify()
        try over.scribbleRequestProducer(33)
        try over.notify()
        try far.scribbleRequestProducer(0x8000_0000)
        try far.notify()
        fixture.runBackend()
        #expect(full.isConnected)
        #expect(try full.sharedResponseProducer() == 32)
        #expect(isDisconnected(over, mentioning: "33 requests past rsp_prod 0"))
        #expect(isDisconnected(far, mentioning: "more than the ring's 32 slots"))
        try honestRoundTrip(fixture, honest, sector: 0, seed: 2)
    }

    @Test("double fetch: a request rewritten while the backend reads it is acted on as first read, read once")
    func doubleFetch() throws {
        let fixture = try SplitIOFixture()
        let front = try HandmadeFrontend(fixture, dom1)
        try front.fill(0, pattern(10, count: pageSize))
        try front.fill(1, pattern(20, count: pageSize))
        let first = try front.grant(0, .readOnly), second = try front.grant(1, .readOnly)
        let original = front.request(.write, id: 5, sector: 3, [first])
        let rewritten = BlockRequest(operation: .write, id: 6, sector: 40, segments: [
            BlockSegment(grant: second, firstSector: 0, lastSector: 7), BlockSegment(grant: second, firstSector: 0, lastSector: 7),
        ])
        let slot = front.ringFrame.address + UInt32(BlockProtocol.Ring.slotOffset(0))
        var slotReads = 0
        fixture.watched.afterRead = { address, count in
            guard address < slot + UInt32(BlockRequest.encodedSize), address + UInt32(count) > slot else { return }
            slotReads += 1
            // The frontend's other vCPU rewrites the slot right after the backend's read.
            try? front.scribbleSlot(0, rewritten)
        }
        let answers = try front.roundTrip(original)
        fixture.watched.afterRead = nil
        #expect(slotReads == 1)
        #expect(answers == [BlockResponse(id: 5, operation: .write, status: .okay)])
        let image = try fixture.imageBytes(front.disk)
        #expect(firstDifference(image[3 * 512 ..< 11 * 512], pattern(10, count: pageSize)) == nil)
        #expect(image[40 * 512 ..< 56 * 512].allSatisfy { $0 == 0 })
    }

    @Test("grants of frames the frontend does not own, or not granted to the backend, fail and touch nothing")
    func grantsOfFramesNotOwned() throws {
        let fixture = try SplitIOFixture()
        let front = try HandmadeFrontend(fixture, dom1)
        let victim = try HandmadeFrontend(fixture, dom2)
        let dom0Frame = fixture.frames.frames(ownedBy: .dom0)[0]
        for frame in [dom0Frame, victim.buffers[0], victim.ringFrame] {
            let error = #expect(throws: SplitIOError.self) {
                _ = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: frame, access: .readWrite)
            }
            #expect(error?.code == .notOwner)
        }
        // The victim legitimately grants its page to dom0; the bad frontend cites that number as its own.
        try victim.fill(0, [UInt8](repeating: 0x77, count: pageSize))
        let victimsGrant = try victim.grant(0)
        for _ in 0...victimsGrant.rawValue { _ = try front.grant(1, .readOnly) }  // fill dom1's table up to that number
        let notForBackend = try fixture.grants.grantAccess(from: dom1, to: dom3, frame: front.buffers[2], access: .readWrite)
        let movedAway = try front.grant(3)
        fixture.frames.assign([front.buffers[3]], to: dom2)  // the hypervisor gave the frame to dom2
        let readOnly = try front.grant(4, .readOnly)
        let answers = try front.roundTrip(
            front.request(.read, id: 1, sector: 0, [GrantReference(victimsGrant.rawValue + 200)]),  // unused in dom1's table
            front.request(.read, id: 2, sector: 0, [notForBackend]),
            front.request(.read, id: 3, sector: 0, [movedAway]),
            front.request(.read, id: 4, sector: 0, [readOnly]),  // READ needs to write the page
            front.request(.read, id: 5, sector: 0, [GrantReference(UInt32.max)]))
        #expect(answers.map(\.status) == Array(repeating: .error, count: 5))
        #expect(try victim.buffer(0).allSatisfy { $0 == 0x77 })
        #expect(front.isConnected)
    }

    @Test("revoking a grant in use is refused: the ring while connected, a buffer while the backend copies it")
    func revokingGrantsInUse() throws {
        let fixture = try SplitIOFixture()
        let front = try HandmadeFrontend(fixture, dom1)
        let ringRevoke = #expect(throws: SplitIOError.self) { try fixture.grants.endAccess(front.ringReference, by: dom1) }
        #expect(ringRevoke?.code == .grantInUse)

        try front.fill(0, pattern(4, count: pageSize))
        let buffer = try front.grant(0, .readOnly)
        var revokeError: SplitIOError? = nil
        fixture.watched.afterRead = { address, _ in
            guard FrameNumber(containing: address) == front.buffers[0], revokeError == nil else { return }
            do { try fixture.grants.endAccess(buffer, by: dom1) } catch { revokeError = error as? SplitIOError }
        }
        let answers = try front.roundTrip(front.request(.write, id: 9, sector: 0, [buffer]))
        fixture.watched.afterRead = nil
        #expect(revokeError?.code == .grantInUse)
        #expect(answers.map(\.status) == [.okay])
        #expect(Array(try fixture.imageBytes(front.disk)[0 ..< pageSize]) == pattern(4, count: pageSize))
        // Once the backend is done, both revocations succeed.
        try fixture.grants.endAccess(buffer, by: dom1)
        fixture.backend.disconnect(front.connection, reason: "frontend closed")
        try fixture.grants.endAccess(front.ringReference, by: dom1)
    }

    @Test("an event storm costs the backend one upcall and one look, and the others are served")
    func eventStorm() throws {
        let fixture = try SplitIOFixture()
        let storm = try HandmadeFrontend(fixture, dom1)
        let (honest, honestConnection, _) = try fixture.connectedFrontend(dom2)
        var upcalls = 0
        fixture.events.upcall = { if $0 == .dom0 { upcalls += 1 } }
        _ = try honest.submitWrite(sector: 1, data: pattern(5, count: 512))
        try honest.push()
        for _ in 0..<100_000 { try storm.notify() }
        #expect(upcalls == 1)
        #expect(fixture.runBackend() == 1)
        #expect(fixture.backend.statistics(of: storm.connection)?.passes == 1)
        #expect(fixture.backend.statistics(of: storm.connection)?.requestsAccepted == 0)
        #expect(fixture.backend.statistics(of: honestConnection)?.responsesOkay == 1)
        #expect(try honest.collect().map(\.status) == [.okay])
        #expect(storm.isConnected)
    }

    /// A frontend that keeps its ring full and never waits for responses (and a slow disk that
    /// completes only every third pass): the requests wait in the frontends' own rings, the
    /// backend never holds more than its bound, and the honest frontend still gets through.
    @Test("requests without waiting for responses: the backend's memory stays bounded")
    func floodWithoutWaiting() throws {
        let limits = BlockBackend.Limits(requestsPerPass: 8, maxRequestsHeld: 40)
        let fixture = try SplitIOFixture(limits: limits)
        let floods = try [dom1, dom2, dom3].map { try HandmadeFrontend(fixture, $0) }
        let (honest, _, _) = try fixture.connectedFrontend(DomainID(4))
        let pages = try floods.map { try $0.grant(0) }
        var published = [UInt32](repeating: 0, count: floods.count)
        var honestDone = 0
        for round in 0..<60 {
            for (index, flood) in floods.enumerated() {
                // Fill every slot the backend has answered (or not: it does not read responses).
                let limit = try flood.sharedResponseProducer() &+ 32
                while published[index] != limit {
                    try flood.scribbleSlot(published[index], flood.request(.read, id: UInt64(published[index]), sector: 0, [pages[index]]))
                    published[index] &+= 1
                }
                try flood.scribbleRequestProducer(published[index])
                try flood.notify()
            }
            _ = try honest.submitWrite(sector: UInt64(round % 64), data: pattern(UInt8(round), count: 512))
            try honest.push()
            fixture.backend.acceptRequests()
            if round % 3 == 2 { fixture.backend.completeRequests() }
            #expect(fixture.backend.requestsHeld <= 40)
            for flood in floods { #expect(fixture.backend.requestsInFlight(of: flood.connection) <= 32) }
            honestDone += try honest.collect().count
        }
        fixture.runBackend()
        honestDone += try honest.collect().count
        #expect(honestDone == 60)
        #expect(fixture.backend.peakRequestsHeld <= 40)
        #expect(fixture.backend.peakRequestsHeld >= 32)  // the bound was actually reached
        let allConnected = floods.allSatisfy { $0.isConnected }
        #expect(allConnected)
        // One more request than the ring holds is a protocol violation.
        try floods[0].scribbleRequestProducer(try floods[0].sharedResponseProducer() &+ 33)
        try floods[0].notify()
        fixture.runBackend()
        #expect(!floods[0].isConnected)
        try honestRoundTrip(fixture, honest, sector: 9, seed: 9)
    }

    @Test("sectors past the disk's end (or wrapping 2^64) are refused; the image and buffers are unchanged")
    func sectorsPastTheEnd() throws {
        let fixture = try SplitIOFixture()
        let front = try HandmadeFrontend(fixture, dom1, sectors: 64)
        try front.fill(0, pattern(8, count: pageSize))
        try front.fill(1, [UInt8](repeating: 0xB1, count: pageSize))
        let source = try front.grant(0, .readOnly), target = try front.grant(1)
        func one(_ op: BlockOpcode, _ id: UInt64, _ sector: UInt64, _ grant: GrantReference, _ last: UInt8) -> BlockRequest {
            BlockRequest(operation: op, id: id, sector: sector, segments: [BlockSegment(grant: grant, firstSector: 0, lastSector: last)])
        }
        let answers = try front.roundTrip(
            one(.write, 1, 63, source, 1),              // 63 + 2 > 64
            one(.write, 2, 64, source, 0),              // starts at the end
            one(.read, 3, UInt64.max, target, 0),       // wraps
            one(.read, 4, UInt64.max - 3, target, 7),   // wraps
            one(.write, 5, 56, source, 7),              // the last 8 sectors: legal
            one(.read, 6, 60, target, 7))               // 60 + 8 > 64
        #expect(answers.map(\.status) == [.error, .error, .error, .error, .okay, .error])
        let image = try fixture.imageBytes(front.disk)
        #expect(image.count == 64 * 512)
        #expect(image[0 ..< 56 * 512].allSatisfy { $0 == 0 })
        #expect(firstDifference(image[56 * 512 ..< 64 * 512], pattern(8, count: pageSize)) == nil)
        #expect(try front.buffer(1).allSatisfy { $0 == 0xB1 })
        #expect(front.isConnected)
    }

    /// Every access the backend makes goes through `watched`; after a barrage of malformed
    /// requests, each one lies inside a frame the frontend granted.
    @Test("the backend never reads or writes outside the granted frames")
    func confinedToGrantedFrames() throws {
        let fixture = try SplitIOFixture()
        let front = try HandmadeFrontend(fixture, dom1, sectors: 128)
        let neighbour = try HandmadeFrontend(fixture, dom2)
        try neighbour.fill(0, [UInt8](repeating: 0x3C, count: pageSize))
        try front.fill(0, pattern(6, count: pageSize))
        let page = try front.grant(0), readOnlyPage = try front.grant(1, .readOnly)
        let valid = BlockSegment(grant: page, firstSector: 0, lastSector: 7)
        func raw(_ op: BlockOpcode, _ id: UInt64, count: UInt8, _ segments: [BlockSegment]) -> BlockRequest {
            var request = BlockRequest(operation: op, id: id, sector: 0, segments: segments)
            request.segmentCount = count
            return request
        }
        fixture.watched.clearLog()
        var generator = SeededGenerator(seed: 99)
        var requests: [BlockRequest] = [
            raw(.read, 1, count: 12, Array(repeating: valid, count: 11)),
            raw(.write, 2, count: 255, [valid]),
            raw(.read, 3, count: 0, []),
            raw(.read, 4, count: 1, [BlockSegment(grant: page, firstSector: 0, lastSector: 8)]),
            raw(.read, 5, count: 1, [BlockSegment(grant: page, firstSector: 7, lastSector: 255)]),
            raw(.read, 6, count: 1, [BlockSegment(grant: page, firstSector: 5, lastSector: 4)]),
            raw(.read, 7, count: 2, [valid, BlockSegment(grant: GrantReference(4095), firstSector: 0, lastSector: 7)]),
            raw(.read, 8, count: 2, [valid, BlockSegment(grant: readOnlyPage, firstSector: 0, lastSector: 7)]),
            raw(.flush, 9, count: 3, [valid, valid, valid]),
            raw(.write, 10, count: 1, [valid]),
        ]
        // And random garbage in every field.
        for id in 11...40 {
            let segments = (0..<11).map { _ in
                BlockSegment(grant: GrantReference(UInt32(truncatingIfNeeded: generator.next() % 8)),
                             firstSector: UInt8(truncatingIfNeeded: generator.next() % 10),
                             lastSector: UInt8(truncatingIfNeeded: generator.next() % 10))
            }
            var request = BlockRequest(operation: BlockOpcode(rawValue: UInt8(generator.next() % 5)), id: UInt64(id),
                                       sector: generator.next() % 256, segments: segments)
            request.segmentCount = UInt8(truncatingIfNeeded: generator.next() % 14)
            requests.append(request)
        }
        var statuses: [BlockStatus] = []
        for batch in stride(from: 0, to: requests.count, by: 16) {
            for request in requests[batch ..< min(batch + 16, requests.count)] { try front.ring.enqueue(request) }
            try front.ring.pushRequests()
            try front.notify()
            fixture.runBackend()
            statuses += try front.responses().map(\.status)
        }
        #expect(statuses.count == requests.count)
        #expect(Array(statuses.prefix(10)) == Array(repeating: .error, count: 9) + [.okay])
        let allowed = Set([front.ringFrame] + front.buffers)
        #expect(!fixture.watched.accesses.isEmpty)
        for access in fixture.watched.accesses {
            let firstFrame = FrameNumber(containing: access.address)
            let lastFrame = FrameNumber(containing: access.address + UInt32(max(access.count, 1) - 1))
            #expect(allowed.contains(firstFrame) && firstFrame == lastFrame, "backend touched \(access)")
        }
        #expect(try neighbour.buffer(0).allSatisfy { $0 == 0x3C })
        #expect(front.isConnected)
    }

    @Test("responses carry nothing of the backend's memory or of another frontend's disk")
    func noLeaks() throws {
        let fixture = try SplitIOFixture()
        let (secretKeeper, _, _) = try fixture.connectedFrontend(dom1, sectors: 64)
        let secret = [UInt8](repeating: 0x5A, count: 64 * 512)
        for chunk in 0..<8 { _ = try secretKeeper.submitWrite(sector: UInt64(chunk * 8), data: Array(secret[chunk * 4096 ..< (chunk + 1) * 4096])) }
        _ = try secretKeeper.submitRead(sector: 0, sectorCount: 64)
        try secretKeeper.push()
        fixture.runBackend()
        #expect(try secretKeeper.collect().allSatisfy { $0.status == .okay })

        let snoop = try HandmadeFrontend(fixture, dom2, sectors: 16)
        for index in 0..<3 { try snoop.fill(index, [UInt8](repeating: 0xB0, count: pageSize)) }
        let a = try snoop.grant(0), b = try snoop.grant(1), c = try snoop.grant(2)
        let pastEnd = BlockRequest(operation: .read, id: 1, sector: 12, segments: [BlockSegment(grant: a, firstSector: 0, lastSector: 7)])
        let halfBad = BlockRequest(operation: .read, id: 2, sector: 0, segments: [
            BlockSegment(grant: b, firstSector: 0, lastSector: 7), BlockSegment(grant: GrantReference(999), firstSector: 0, lastSector: 7)])
        let partial = BlockRequest(operation: .read, id: 3, sector: 4, segments: [BlockSegment(grant: c, firstSector: 2, lastSector: 3)])
        let answers = try snoop.roundTrip(pastEnd, halfBad, partial)
        #expect(answers.map(\.status) == [.error, .error, .okay])
        #expect(try snoop.buffer(0).allSatisfy { $0 == 0xB0 })
        #expect(try snoop.buffer(1).allSatisfy { $0 == 0xB0 })
        let page = try snoop.buffer(2)
        #expect(page[2 * 512 ..< 4 * 512].allSatisfy { $0 == 0 })  // snoop's own (empty) disk
        #expect(page[0 ..< 2 * 512].allSatisfy { $0 == 0xB0 } && page[4 * 512 ..< pageSize].allSatisfy { $0 == 0xB0 })
        // Each response slot holds exactly the encoded response (zero padding), followed by the
        // frontend's own request bytes: nothing the backend did not mean to write.
        for (index, request) in [pastEnd, halfBad, partial].enumerated() {
            let slot = try fixture.ram.read(snoop.ringFrame.address + UInt32(BlockProtocol.Ring.slotOffset(UInt32(index))),
                                            count: BlockProtocol.Ring.slotSize)
            #expect(firstDifference(slot[0 ..< 16], answers[index].encoded()) == nil)
            #expect(slot[9] == 0 && slot[12 ..< 16].allSatisfy { $0 == 0 })
            #expect(firstDifference(slot[16...], Array(request.encoded()[16...])) == nil)
        }
    }

    @Test("a READ aimed at the frontend's own ring page wrecks only that frontend's ring")
    func readIntoOwnRingPage() throws {
        let fixture = try SplitIOFixture()
        let bad = try HandmadeFrontend(fixture, dom1, sectors: 16)
        let (honest, _, _) = try fixture.connectedFrontend(dom2)
        // Fill the bad frontend's disk with 0xFF, then read it over its own ring page.
        try bad.fill(0, [UInt8](repeating: 0xFF, count: pageSize))
        let source = try bad.grant(0, .readOnly)
        #expect(try bad.roundTrip(bad.request(.write, id: 1, sector: 0, [source])).map(\.status) == [.okay])
        let ringAsBuffer = try fixture.grants.grantAccess(from: dom1, to: .dom0, frame: bad.ringFrame, access: .readWrite)
        try bad.send(bad.request(.read, id: 2, sector: 0, [ringAsBuffer]))
        fixture.runBackend()
        // req_prod now reads 0xFFFFFFFF: the backend's final check finds the ring broken.
        #expect(isDisconnected(bad, mentioning: "req_prod 4294967295"))
        try honestRoundTrip(fixture, honest, sector: 3, seed: 3)
    }

    /// Random bytes in every slot and random producer indices, from two frontends at once, over
    /// many rounds: whatever happens to them (errors, disconnection), the backend stays inside
    /// their granted frames and the honest frontend is served every round.
    @Test("random scribbling on the ring: no stray access, the honest frontend is always served")
    func randomScribbling() throws {
        let fixture = try SplitIOFixture()
        let chaos = try [dom1, dom2].map { try HandmadeFrontend(fixture, $0, sectors: 32) }
        for front in chaos { for index in 0..<4 { _ = try front.grant(index, index % 2 == 0 ? .readWrite : .readOnly) } }
        let (honest, _, _) = try fixture.connectedFrontend(dom3)
        var generator = SeededGenerator(seed: 2026)
        fixture.watched.clearLog()
        for round in 0..<40 {
            for front in chaos where front.isConnected {
                for _ in 0..<Int(generator.next() % 6) {
                    let slot = UInt32(truncatingIfNeeded: generator.next())
                    var bytes = (0..<BlockRequest.encodedSize).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                    bytes[0] = UInt8(generator.next() % 5)         // mostly real operations,
                    bytes[1] = UInt8(generator.next() % 4 == 0 ? generator.next() % 13 : generator.next() % 3)  // segment counts
                    bytes.replaceSubrange(16..<24, with: (generator.next() % 40).littleEndianBytes)  // near the disk's end
                    for segment in 0..<11 {                        // grants 0...5 (4 and 5 unused),
                        let at = 24 + segment * 8                  // sectors mostly in the page
                        bytes.replaceSubrange(at..<at + 4, with: UInt32(generator.next() % 6).littleEndianBytes)
                        bytes[at + 4] = UInt8(generator.next() % 9)
                        bytes[at + 5] = bytes[at + 4] &+ UInt8(generator.next() % 3)
                    }
                    try fixture.ram.write(front.ringFrame.address + UInt32(BlockProtocol.Ring.slotOffset(slot)), bytes)
                }
                // Usually a plausible producer (a few ahead of what was answered), sometimes anything.
                let answered = try front.sharedResponseProducer()
                let producer = generator.next() % 30 == 0 ? UInt32(truncatingIfNeeded: generator.next())
                                                         : answered &+ UInt32(generator.next() % 12)
                try front.scribbleRequestProducer(producer)
                try front.notify()
            }
            try honestRoundTrip(fixture, honest, sector: UInt64(round % 200), seed: UInt8(round))
        }
        var allowed = Set<FrameNumber>()
        for front in chaos { allowed.formUnion([front.ringFrame] + front.buffers) }
        allowed.formUnion(fixture.frames.frames(ownedBy: dom3))
        let stray = fixture.watched.accesses.filter { access in
            let first = FrameNumber(containing: access.address)
            return !allowed.contains(first) || FrameNumber(containing: access.address + UInt32(max(access.count, 1) - 1)) != first
        }
        #expect(stray.isEmpty, "backend touched \(stray.prefix(3))")
        #expect(fixture.backend.requestsHeld == 0)
        // The scribbles were real work for the backend: some made sense, most did not.
        let statistics = chaos.compactMap { fixture.backend.statistics(of: $0.connection) }
        #expect(statistics.map(\.responsesOkay).reduce(0, +) > 5)
        #expect(statistics.map(\.responsesFailed).reduce(0, +) > 20)
    }
}
