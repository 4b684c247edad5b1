/// Dom0's bridge: a learning Ethernet switch whose ports are the vifs (Linux's `brctl` bridge
/// that Xen's toolstack plugs every `vifN.0` into).
///
/// It learns which port each source MAC address was last seen on, forwards a frame to the one
/// port that learned its destination, and *floods* it to every other port when the destination
/// is a group address (broadcast, multicast) or not learned yet. A frame whose destination was
/// learned on the port it came from is *filtered* (not sent back where it came from). The table
/// has a fixed size: a guest that sends from thousands of made-up source addresses only pushes
/// out the oldest entries, it cannot grow Dom0's memory.
///
/// It decides where frames go; `NetBackend` moves them. Not Sendable: it runs on the machine's thread.
public final class NetBridge {
    public struct Statistics: Equatable, Sendable {
        public var forwarded = 0
        public var flooded = 0
        public var filtered = 0
        /// Table entries pushed out to make room for a new address.
        public var evictions = 0
    }

    public let capacity: Int
    public private(set) var statistics = Statistics()
    private var table: [MACAddress: (port: NetBackend.VifID, learnedAt: UInt64)] = [:]
    private var clock: UInt64 = 0

    public init(capacity: Int = 256) {
        self.capacity = max(1, capacity)
    }

    /// The port `address` was last seen on, if the bridge has learned it.
    public func port(of address: MACAddress) -> NetBackend.VifID? { table[address]?.port }
    public var learnedAddresses: Int { table.count }

    /// Where a frame from `source` goes, given the ports currently attached: learns the frame's
    /// source address, then picks the destination port(s). A frame too short for an Ethernet
    /// header goes nowhere (the backend never passes one).
    public func destinations(of frame: [UInt8], from source: NetBackend.VifID, ports: [NetBackend.VifID]) -> [NetBackend.VifID] {
        guard frame.count >= NetProtocol.ethernetHeaderSize else { return [] }
        let destination = MACAddress(frame[0..<6])
        let sender = MACAddress(frame[6..<12])
        learn(sender, on: source)
        if !destination.isGroup, let known = table[destination] {
            guard known.port != source else {
                statistics.filtered += 1
                return []
            }
            if ports.contains(known.port) {
                statistics.forwarded += 1
                return [known.port]
            }
        }
        statistics.flooded += 1
        return ports.filter { $0 != source }
    }

    /// Forgets every address learned on `port` (its vif went away).
    public func forget(port: NetBackend.VifID) {
        table = table.filter { $0.value.port != port }
    }

    private func learn(_ address: MACAddress, on port: NetBackend.VifID) {
        // A group address is never a station's source; learning it would misdirect broadcasts.
        guard !address.isGroup else { return }
        clock += 1
        if table[address] == nil, table.count >= capacity,
           let oldest = table.min(by: { $0.value.learnedAt < $1.value.learnedAt })?.key {
            table[oldest] = nil
            statistics.evictions += 1
        }
        table[address] = (port, clock)
    }
}

@available(*, unavailable, message: "the bridge runs on the thread that runs the machine")
extension NetBridge: Sendable {}
