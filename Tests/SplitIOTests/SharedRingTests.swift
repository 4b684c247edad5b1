import Machine
import Testing
@testable import SplitIO

/// A small entry for ring tests: a 32-bit value, padded to `size` bytes.
struct TestEntry: RingEntry, Equatable {
    var value: UInt32
    static var encodedSize: Int { 16 }
    init(_ value: UInt32) { self.value = value }
    func encoded() -> [UInt8] { value.littleEndianBytes + [UInt8](repeating: 0, count: 12) }
    init(decoding bytes: [UInt8]) { value = UInt32(littleEndianBytes: bytes.prefix(4)) }
}

struct LargeEntry: RingEntry {
    static var encodedSize: Int { 1000 }
    init(decoding bytes: [UInt8]) {}
    func encoded() -> [UInt8] { [UInt8](repeating: 0, count: 1000) }
}

@Suite("SharedRing")
struct SharedRingTests {
    typealias TestRing = SharedRing<TestEntry, TestEntry>

    func machinePage() throws -> (MachineMemory, SharedPage) {
        var configuration = MachineConfiguration()
        configuration.ramSize = 64 << 10
        let memory = MachineMemory(try Machine(configuration: configuration))
        return (memory, SharedPage(memory: memory, frame: FrameNumber(containing: 0x8000_3000)))
    }

    @Test("ring size is the largest power of two of slots after the 64-byte header")
    func ringSizes() {
        #expect(BlockProtocol.Ring.slotSize == 112)
        #expect(BlockProtocol.Ring.size == 32)  // 4032 / 112 = 36 -> 32, as Xen's BLK_RING_SIZE
        #expect(TestRing.size == 128)           // 4032 / 16 = 252 -> 128
        #expect(SharedRing<LargeEntry, TestEntry>.size == 4)  // 4032 / 1000 = 4
        #expect(TestRing.slotOffset(0) == 64)
        #expect(TestRing.slotOffset(128) == 64)  // free-running index, masked
        #expect(TestRing.slotOffset(0xFFFF_FFFF) == 64 + 127 * 16)
    }

    @Test("SHARED_RING_INIT over a dirty page: producers 0, events 1, padding zero")
    func initialization() throws {
        let (memory, page) = try machinePage()
        try memory.write(page.frame.address, [UInt8](repeating: 0xEE, count: pageSize))
        let front = try FrontRing<TestEntry, TestEntry>(initializing: page)
        let header = try memory.read(page.frame.address, count: 64)
        #expect(header[0..<4] == [0, 0, 0, 0])
        #expect(header[4..<8] == [1, 0, 0, 0])
        #expect(header[8..<12] == [0, 0, 0, 0])
        #expect(header[12..<16] == [1, 0, 0, 0])
        #expect(header[16..<64].allSatisfy { $0 == 0 })
        #expect(front.freeRequests == 128)
    }

    @Test("notify iff the event index lies in (old, new], across the 2^32 wrap",
          arguments: [
            (UInt32(0), UInt32(1), UInt32(1), true), (0, 5, 3, true), (0, 5, 5, true), (0, 5, 6, false),
            (0, 5, 0, false), (3, 5, 3, false), (0xFFFF_FFFE, 2, 0xFFFF_FFFF, true), (0xFFFF_FFFE, 2, 1, true),
            (0xFFFF_FFFE, 2, 3, false), (0xFFFF_FFFE, 2, 0xFFFF_FFFE, false), (7, 7, 7, false),
          ])
    func notifyRule(old: UInt32, new: UInt32, event: UInt32, expected: Bool) {
        #expect(TestRing.needsNotification(old: old, new: new, event: event) == expected)
    }

    /// Both halves against a FIFO model over a machine's RAM, with indices starting just below the
    /// 2^32 wrap, in a random interleaving of every ring operation.
    @Test("front and back agree with a FIFO model through random interleavings and index wrap")
    func againstFIFOModel() throws {
        let (_, page) = try machinePage()
        _ = try FrontRing<TestEntry, TestEntry>(initializing: page)
        let start: UInt32 = 0xFFFF_FF80
        try TestRing(page: page).setRequestProducer(start)
        try TestRing(page: page).setResponseProducer(start)
        var front = try FrontRing<TestEntry, TestEntry>(attachingTo: page)
        var back = try BackRing<TestEntry, TestEntry>(attachingTo: page)
        var generator = SeededGenerator(seed: 42)
        var sentRequests: [UInt32] = [], seenRequests: [UInt32] = []
        var toAnswer: [UInt32] = [], sentResponses: [UInt32] = [], seenResponses: [UInt32] = []
        var next: UInt32 = 1
        for _ in 0..<20_000 {
            switch generator.next() % 6 {
            case 0:
                if front.isFull {
                    #expect(throws: SplitIOError.self) { try front.enqueue(TestEntry(0)) }
                } else {
                    try front.enqueue(TestEntry(next))
                    sentRequests.append(next)
                    next += 1
                }
            case 1:
                try front.pushRequests()
            case 2:
                _ = try back.refreshRequests()
                while let request = try back.takeRequest() {
                    seenRequests.append(request.value)
                    toAnswer.append(request.value)
                }
            case 3:
                if !toAnswer.isEmpty {
                    let value = toAnswer.removeFirst() ^ 0xFFFF
                    try back.enqueueResponse(TestEntry(value))
                    sentResponses.append(value)
                }
            case 4:
                _ = try back.pushResponsesAndCheckNotify()
            default:
                while let response = try front.takeResponse() { seenResponses.append(response.value) }
            }
            #expect(front.freeRequests <= 128)
            #expect(back.requestsInFlight <= 128)
        }
        #expect(front.requestProducerPrivate < start)  // wrapped
        #expect(seenRequests == Array(sentRequests.prefix(seenRequests.count)))
        #expect(seenResponses == Array(sentResponses.prefix(seenResponses.count)))
        #expect(seenResponses.count > 1000)
    }

    @Test("req_event/rsp_event suppress notifications until the other side asks again")
    func notificationSuppression() throws {
        let (_, page) = try machinePage()
        var front = try FrontRing<TestEntry, TestEntry>(initializing: page)
        var back = BackRing<TestEntry, TestEntry>(page: page)
        try front.enqueue(TestEntry(1))
        #expect(try front.pushRequestsAndCheckNotify())        // req_event 1 in (0, 1]
        try front.enqueue(TestEntry(2))
        #expect(try !front.pushRequestsAndCheckNotify())       // backend has not asked again
        _ = try back.refreshRequests()
        while try back.takeRequest() != nil {}
        #expect(try !back.finalCheckForRequests())             // sets req_event = 3
        try front.enqueue(TestEntry(3))
        try front.enqueue(TestEntry(4))
        #expect(try front.pushRequestsAndCheckNotify())        // 3 in (2, 4]
        _ = try back.refreshRequests()
        while try back.takeRequest() != nil {}
        #expect(back.requestsInFlight == 4)
        // Responses: the frontend's rsp_event starts at 1.
        try back.enqueueResponse(TestEntry(10))
        try back.enqueueResponse(TestEntry(20))
        #expect(try back.pushResponsesAndCheckNotify())        // 1 in (0, 2]
        try back.enqueueResponse(TestEntry(30))
        #expect(try !back.pushResponsesAndCheckNotify())       // the frontend has not asked again
        for _ in 0..<3 { _ = try front.takeResponse() }
        try front.requestNotification(afterResponses: 2)       // a batch: rsp_event = 3 + 2
        try back.enqueueResponse(TestEntry(40))
        #expect(try !back.pushResponsesAndCheckNotify())       // 5 not in (3, 4]
        try front.enqueue(TestEntry(5))
        try front.pushRequests()
        _ = try back.refreshRequests()
        _ = try back.takeRequest()
        try back.enqueueResponse(TestEntry(50))
        #expect(try back.pushResponsesAndCheckNotify())        // 5 in (4, 5]: the batch is complete
    }

    @Test("the final check sees requests published just before req_event was set")
    func finalCheckClosesTheRace() throws {
        let (_, page) = try machinePage()
        var front = try FrontRing<TestEntry, TestEntry>(initializing: page)
        var back = BackRing<TestEntry, TestEntry>(page: page)
        _ = try back.refreshRequests()
        // The frontend publishes between the backend's last look and its final check.
        try front.enqueue(TestEntry(1))
        try front.pushRequests()
        #expect(try back.finalCheckForRequests())
        #expect(try back.takeRequest() == TestEntry(1))
    }

    @Test("a backend publishing responses to requests never made is a protocol error for the frontend")
    func frontendDistrustsBackend() throws {
        let (_, page) = try machinePage()
        var front = try FrontRing<TestEntry, TestEntry>(initializing: page)
        try front.enqueue(TestEntry(1))
        try front.pushRequests()
        try TestRing(page: page).setResponseProducer(5)
        let error = #expect(throws: SplitIOError.self) { _ = try front.takeResponse() }
        #expect(error?.code == .ringProtocol)
    }

    @Test("the same ring code runs over a plain host buffer")
    func overBufferMemory() throws {
        let memory = BufferMemory(base: 0x4000_0000, size: 2 * pageSize)
        let page = SharedPage(memory: memory, frame: FrameNumber(containing: 0x4000_1000))
        var front = try FrontRing<TestEntry, TestEntry>(initializing: page)
        var back = BackRing<TestEntry, TestEntry>(page: page)
        for value in 1...3 as ClosedRange<UInt32> { try front.enqueue(TestEntry(value)) }
        #expect(try front.pushRequestsAndCheckNotify())
        #expect(try back.refreshRequests() == 3)
        while let request = try back.takeRequest() { try back.enqueueResponse(TestEntry(request.value * 10)) }
        #expect(try back.pushResponsesAndCheckNotify())
        var values: [UInt32] = []
        while let response = try front.takeResponse() { values.append(response.value) }
        #expect(values == [10, 20, 30])
        #expect(memory.bytes[pageSize + 8 ..< pageSize + 12] == [3, 0, 0, 0])  // rsp_prod in the second page
        #expect(memory.bytes[0 ..< pageSize].allSatisfy { $0 == 0 })
    }

    @Test("machine memory is RAM only: device registers are not shareable memory")
    func machineMemoryIsRAMOnly() throws {
        let (memory, _) = try machinePage()
        let uart = #expect(throws: SplitIOError.self) { _ = try memory.read(0x1000_0000, count: 1) }
        #expect(uart?.code == .outOfBounds)
        let pastEnd = #expect(throws: SplitIOError.self) { try memory.write(0x8000_FFFF, [1, 2]) }
        #expect(pastEnd?.code == .outOfBounds)
        #expect(memory.frames.count == 16)
    }

    @Test("shared pages refuse accesses that leave the page")
    func pageBounds() throws {
        let (_, page) = try machinePage()
        #expect(throws: SplitIOError.self) { _ = try page.read(at: 4094, count: 4) }
        #expect(throws: SplitIOError.self) { try page.write(at: -1, [0]) }
        let outside = SharedPage(memory: page.memory, frame: FrameNumber(containing: 0x1000))
        let error = #expect(throws: SplitIOError.self) { _ = try outside.read(at: 0, count: 4) }
        #expect(error?.code == .outOfBounds)
    }
}
