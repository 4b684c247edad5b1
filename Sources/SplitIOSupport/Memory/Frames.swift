/// A domain (a virtual machine) as the split-driver layer names it: Xen's `domid_t`.
/// Domain 0 is the privileged domain that runs the backends.
public struct DomainID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// The control domain, home of the backends.
    public static let dom0 = DomainID(0)

    public static func < (a: DomainID, b: DomainID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "dom\(rawValue)" }
}

/// A 4 KiB frame of machine memory, by number (physical address >> 12).
///
/// Grants name machine frames, as Xen's grant entries do for para-virtual guests; when the
/// hypervisor's domains give guests their own guest-physical numbering, the grant hypercall
/// translates the guest's frame through its p2m before it reaches `GrantTables`.
public struct FrameNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// The frame holding a physical address.
    public init(containing address: UInt32) { rawValue = address >> pageShift }

    /// The physical address of the frame's first byte.
    public var address: UInt32 { rawValue << pageShift }

    public static func < (a: FrameNumber, b: FrameNumber) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "frame 0x\(String(rawValue, radix: 16))" }
}

/// The page size of RV32 Sv32 and of Xen on every architecture it supports.
public let pageSize = 4096
public let pageShift: UInt32 = 12

/// Who owns each frame of machine memory. The hypervisor is the only writer (it builds domains
/// and hands them frames); the grant table asks it whether a granter really owns what it grants.
///
/// Not Sendable: confined to the thread that runs the machine, like `Machine` itself.
public final class FrameTable {
    private var owners: [FrameNumber: DomainID] = [:]

    public init() {}

    /// Gives `frames` to `domain`, taking them from any previous owner.
    public func assign(_ frames: some Sequence<FrameNumber>, to domain: DomainID) {
        for frame in frames { owners[frame] = domain }
    }

    /// Takes a frame away from every domain (the hypervisor reclaims it).
    public func release(_ frame: FrameNumber) {
        owners[frame] = nil
    }

    public func owner(of frame: FrameNumber) -> DomainID? {
        owners[frame]
    }

    /// The frames a domain owns, in ascending order.
    public func frames(ownedBy domain: DomainID) -> [FrameNumber] {
        owners.filter { $0.value == domain }.map(\.key).sorted()
    }
}

@available(*, unavailable, message: "a FrameTable is confined to the thread that runs the machine")
extension FrameTable: Sendable {}
