/// A process's open files: the guest's descriptor numbers and the host descriptors behind them.
///
/// 0, 1 and 2 start out as the host descriptors the process was given (normally the host's own
/// stdin, stdout and stderr). Those are borrowed: a guest `close(1)` removes the guest's
/// descriptor 1 but leaves the host's stdout open, since the host process still needs it.
/// Files the guest opens are owned and closed with the guest descriptor (or when the process ends).
struct FileDescriptorTable {
    struct Entry: Equatable {
        var hostDescriptor: Int32
        var ownsHostDescriptor: Bool
    }

    /// Linux's default RLIMIT_NOFILE soft limit: descriptors are 0 ..< 1024.
    static let limit: Int32 = 1024

    private(set) var entries: [Int32: Entry] = [:]

    init(standardInput: Int32, standardOutput: Int32, standardError: Int32) {
        entries[0] = Entry(hostDescriptor: standardInput, ownsHostDescriptor: false)
        entries[1] = Entry(hostDescriptor: standardOutput, ownsHostDescriptor: false)
        entries[2] = Entry(hostDescriptor: standardError, ownsHostDescriptor: false)
    }

    func hostDescriptor(for guestDescriptor: Int32) -> Int32? {
        entries[guestDescriptor]?.hostDescriptor
    }

    /// Installs a host descriptor at the lowest free guest number (POSIX requires the lowest),
    /// or returns nil when all `limit` numbers are taken (the caller reports EMFILE).
    mutating func install(hostDescriptor: Int32, owned: Bool) -> Int32? {
        var candidate: Int32 = 0
        while entries[candidate] != nil { candidate += 1 }
        guard candidate < FileDescriptorTable.limit else { return nil }
        entries[candidate] = Entry(hostDescriptor: hostDescriptor, ownsHostDescriptor: owned)
        return candidate
    }

    mutating func remove(_ guestDescriptor: Int32) -> Entry? {
        entries.removeValue(forKey: guestDescriptor)
    }

    /// Closes every owned host descriptor: the process is gone.
    mutating func closeAll() {
        for (_, entry) in entries where entry.ownsHostDescriptor {
            _ = HostFiles.close(entry.hostDescriptor)
        }
        entries = [:]
    }
}
