// Lab support (not one of your files: the grader uses this copy).

/// A part of the lab that is still a TODO. The skeleton's stubs throw it; the pager records it
/// (the `ShadowPager` methods cannot throw), and the tests print what a run reached.
public struct NotImplemented: Error, Equatable, Sendable, CustomStringConvertible {
    public var lab: String
    public var what: String
    public init(lab: String, _ what: String) {
        self.lab = lab
        self.what = what
    }
    public var description: String { "not implemented yet (Lab \(lab)): \(what)" }
}

/// The TODOs (and any other errors) a pager ran into, in the order first seen.
///
/// A class, so the pager and the test that built it share one record. Not `Sendable`: it belongs
/// to the thread running the guest.
public final class UnfinishedWork {
    public private(set) var reached: [String] = []

    public init() {}

    public func record(_ error: any Error) {
        let line = "\(error)"
        if !reached.contains(line) { reached.append(line) }
    }

    /// One line per TODO reached, or nil if none was.
    public var summary: String? { reached.isEmpty ? nil : reached.joined(separator: "\n") }
}
