/// Counters the kernel kept while the container ran.
public struct LimitsUsage: Sendable, Codable, Equatable {
    public var oomKills: Int?
    public var memoryPeakBytes: UInt64?
    public var pidsLimitHits: Int?
    public var cpuThrottledPeriods: Int?
    public var cpuUsageMicroseconds: UInt64?

    public init() {}
}
