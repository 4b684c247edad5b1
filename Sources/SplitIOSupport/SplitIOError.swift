/// Every failure of the split-driver layer: a one-line message naming the input and the problem,
/// and a `code` a caller (or a test) can match on without parsing the message.
///
/// A struct, not an enum, so a new failure never breaks the public API (swift-nio's
/// `FileSystemError` style). A misbehaving guest produces one of these, never a host crash.
public struct SplitIOError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is. Open-ended: new codes are new static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// An address or offset outside the memory, page or ring it must lie in.
        public static let outOfBounds = Code("out-of-bounds")
        /// A domain named a frame it does not own.
        public static let notOwner = Code("not-owner")
        /// A grant reference that is out of range, unused, or granted to someone else.
        public static let badGrant = Code("bad-grant")
        /// A write through a read-only grant.
        public static let readOnlyGrant = Code("read-only-grant")
        /// Revoking a grant that is still mapped.
        public static let grantInUse = Code("grant-in-use")
        /// A table (grants, event ports) has no free entry left.
        public static let tableFull = Code("table-full")
        /// An event port that is out of range, closed, or bound to something else.
        public static let badPort = Code("bad-port")
        /// The other side broke the ring protocol (indices out of range); the connection is unusable.
        public static let ringProtocol = Code("ring-protocol")
        /// A malformed request or entry.
        public static let badRequest = Code("bad-request")
        /// The host refused a file operation on a disk image.
        public static let hostIO = Code("host-io")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
