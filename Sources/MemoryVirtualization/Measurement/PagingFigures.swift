import HypervisorCore
import Machine

/// What one run of a memory workload cost its memory translation: the row of `vlab bench memory`.
///
/// Where the numbers come from: TLB hits, misses and walk references are the hart's MMU counters
/// (`Machine.translationStatistics`, run with `MachineConfiguration.countsEveryTLBLookup` so every
/// data lookup is counted; fetch hits are derived, one per retired instruction not served by a
/// fill). Under shadow paging they are the hart's walks of the *shadow* tables (1-D Sv32: up to 2
/// references), under nested paging the hart's 2-D walks (up to 8 for Sv32 over Sv32x4, fewer with
/// the G-stage walk cache, whose savings are counted apart). The shadow figures are the pager's
/// (`ShadowStatistics`: fills, rebuilds, evictions, peak frames), the exits the VMM's (`ExitStatistics`).
public struct PagingFigures: Sendable {
    public var workload: String
    /// "bare", "shadow", "nested", "nested+cache".
    public var mode: String
    public var guestInstructions: UInt64
    public var tlbHits: UInt64
    public var tlbMisses: UInt64
    public var walkReferences: UInt64
    public var gStageReferencesSaved: UInt64
    public var shadowFills: UInt64?
    /// Times every shadow table was thrown away and rebuilt on demand (satp writes, full fences).
    public var shadowRebuilds: UInt64?
    /// Shadow tables evicted to bound the cache (pagers that keep several), nil if not reported.
    public var shadowEvictions: UInt64?
    /// The most frames that held shadow tables at once (memory spent on shadow paging), nil if not reported.
    public var shadowFrames: Int?
    /// VM exits caused by paging (shadow fills, reflected page faults, SFENCE.VMA, page-table writes).
    public var pagingExits: UInt64?
    public var totalExits: UInt64?
    /// Median wall time of the timing runs (counters off), seconds.
    public var wallSeconds: Double
    /// "ok", or "WRONG: ..." when the run's console or exit differs from bare.
    public var verdict: String

    public init(workload: String, mode: String, translation: TranslationStatistics, hartRetired: UInt64,
                guestInstructions: UInt64, exits: ExitStatistics?, shadow: ShadowStatistics? = nil, wallSeconds: Double, verdict: String) {
        self.workload = workload
        self.mode = mode
        self.guestInstructions = guestInstructions
        tlbHits = translation.fetchHits(retired: hartRetired) + translation.hits(.load) + translation.hits(.store)
        tlbMisses = translation.walks
        walkReferences = translation.walkReferences
        gStageReferencesSaved = translation.gStageReferencesSaved
        if let exits {
            pagingExits = exits.pagingExits
            totalExits = exits.totalExits
        }
        if let shadow {
            shadowFills = shadow.fills
            shadowRebuilds = shadow.rebuilds
            shadowEvictions = shadow.evictions
            shadowFrames = shadow.peakFramesInUse
        }
        self.wallSeconds = wallSeconds
        self.verdict = verdict
    }

    /// Memory references per page walk.
    public var referencesPerWalk: Double { tlbMisses == 0 ? 0 : Double(walkReferences) / Double(tlbMisses) }
    /// Misses per 1000 guest instructions.
    public var missesPerThousand: Double { guestInstructions == 0 ? 0 : Double(tlbMisses) * 1000 / Double(guestInstructions) }
}

extension ExitStatistics {
    /// The reasons that are paging's doing under a VMM.
    public static let pagingReasons = ["page-fault", "guest-page-fault", "sfence.vma", "page-table-write"]

    /// Exits caused by paging: shadow fills, guest page faults the VMM reflected, SFENCE.VMA, and
    /// stores to write-protected guest page tables. (satp writes exit as CSR writes and are not
    /// told apart from the others.)
    public var pagingExits: UInt64 {
        exits.reduce(0) { sum, entry in Self.pagingReasons.contains(entry.key.name) ? sum + entry.value : sum }
    }
}

/// The table `vlab bench memory` prints.
public enum PagingTable {
    public static func render(_ rows: [PagingFigures], title: String) -> String {
        let columns: [(String, Int)] = [("workload", 13), ("mode", 13), ("guest instr", 12), ("TLB hits", 11), ("misses", 9),
                                        ("miss/1k", 8), ("refs/walk", 10), ("G saved", 9), ("sh fills", 9), ("rebuilds", 9), ("evicted", 8), ("sh frames", 10),
                                        ("paging exits", 13), ("exits", 8), ("wall", 9)]
        func cell(_ text: String, _ width: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(1, width - text.count))
            return left ? text + fill : fill + text
        }
        var lines = [title]
        var header = ""
        for (index, column) in columns.enumerated() { header += cell(column.0, column.1, left: index < 2) }
        lines.append(header + "  result")
        for row in rows {
            var values: [String] = [row.workload, row.mode, "\(row.guestInstructions)", "\(row.tlbHits)", "\(row.tlbMisses)"]
            values.append(fixed(row.missesPerThousand, 1))
            values.append(fixed(row.referencesPerWalk, 2))
            values.append("\(row.gStageReferencesSaved)")
            values.append(row.shadowFills.map { "\($0)" } ?? "-")
            values.append(row.shadowRebuilds.map { "\($0)" } ?? "-")
            values.append(row.shadowEvictions.map { "\($0)" } ?? "-")
            values.append(row.shadowFrames.map { "\($0)" } ?? "-")
            values.append(row.pagingExits.map { "\($0)" } ?? "-")
            values.append(row.totalExits.map { "\($0)" } ?? "-")
            values.append(fixed(row.wallSeconds, 3) + " s")
            var line = ""
            for index in values.indices { line += cell(values[index], columns[index].1, left: index < 2) }
            lines.append(line + "  " + row.verdict)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(abs(scaled) - abs(Double(whole)) * scale)
        guard digits > 0 else { return "\(whole)" }
        let fractionText = String(fraction)
        return "\(whole)." + String(repeating: "0", count: max(0, digits - fractionText.count)) + fractionText
    }
}
