/// One slice of a class for `--shard i/n`: submissions sorted by name, the k-th (from 0) going to shard
/// `k % n + 1`. Shards are numbered from 1, so a Kubernetes indexed Job passes `$((JOB_COMPLETION_INDEX + 1))/n`.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws(GradingError) {
        guard count >= 1, (1...count).contains(index) else {
            throw GradingError("shard \(index)/\(count): expected i/n with 1 ≤ i ≤ n")
        }
        self.index = index
        self.count = count
    }

    public init(parsing text: String) throws(GradingError) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw GradingError("--shard \(text): expected i/n, e.g. 2/4")
        }
        try self.init(index: index, count: count)
    }

    public func select<T>(_ sortedItems: [T]) -> [T] {
        sortedItems.enumerated().filter { $0.offset % count == index - 1 }.map(\.element)
    }

    public var description: String { "\(index)/\(count)" }
    /// File-name form: `shard-2-of-4`.
    public var fileStem: String { "shard-\(index)-of-\(count)" }
}
