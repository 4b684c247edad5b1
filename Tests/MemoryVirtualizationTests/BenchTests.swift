import Foundation
import HypervisorCore
import Machine
import MemoryVirtualization
import Testing

/// `vlab bench memory` (the built vlab, as a user runs it) and the figures behind its table.
@Suite("Bench memory")
struct BenchTests {
    static let vlab: String? = {
        let path = AuditFixtures.root.appendingPathComponent(".build/debug/vlab").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// The table's rows for one workload, by mode: the whitespace-separated cells.
    static func rows(_ output: String, workload: String) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for line in output.split(separator: "\n") {
            let cells = line.split(separator: " ").map(String.init)
            if cells.count > 15, cells[0] == workload { rows[cells[1]] = cells }
        }
        return rows
    }

    @Test("tlb-hostile: shadow walks read 2 PTEs but exit to fill; nested walks read about 8 and never exit; the walk cache cuts them",
          .enabled(if: vlab != nil, "needs the vlab executable (swift build)"))
    func tradeOffOnTheTLBHostileWorkload() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.vlab))
        process.arguments = ["bench", "memory", "--workload", "tlb-hostile", "--repeat", "1", "--sharing-domains", "2"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        let rows = Self.rows(text, workload: "tlb-hostile")
        // columns: workload mode instr hits misses miss/1k refs/walk Gsaved fills rebuilds evicted frames paging-exits exits wall "s" result
        let bare = try #require(rows["bare"]), shadow = try #require(rows["shadow"])
        let nested = try #require(rows["nested"]), cached = try #require(rows["nested+cache"])
        for row in [bare, shadow, nested, cached] { #expect(row.last == "ok", "\(row)") }
        #expect(Set([bare[2], shadow[2], nested[2], cached[2]]).count == 1, "every mode retires the bare machine's instructions")
        let referencesPerWalk = { (row: [String]) in Double(row[6]) ?? -1 }
        #expect(referencesPerWalk(bare) == 2)
        #expect(referencesPerWalk(shadow) == 2)
        #expect(referencesPerWalk(nested) >= 8 && referencesPerWalk(nested) < 8.5)
        #expect(referencesPerWalk(cached) < 3)
        // Shadow pays in exits: a fill per first touch of each of the 8192 pages (and one more per
        // page for the first store, which needs the dirty bit); nested pays none for paging.
        #expect((UInt64(shadow[12]) ?? 0) >= 8192)
        #expect(nested[12] == "0" && cached[12] == "0")
        #expect((UInt64(cached[7]) ?? 0) > 0)
        // The page-sharing row for 2 identical domains: fewer frames used than promised, outputs as alone.
        let sharing = try #require(text.split(separator: "\n").first { $0.hasPrefix("      2 ") }, "\(text)")
        let cells = sharing.split(separator: " ").map(String.init)
        #expect(Int(cells[1]) == 2048)
        #expect((Int(cells[2]) ?? .max) < 2048 && (Int(cells[3]) ?? 0) > 0)
        #expect(sharing.hasSuffix("same as alone"))
    }

    @Test("paging exits count only paging's reasons, and the table shows a dash where a mode has no such figure")
    func figuresAndTable() {
        var exits = ExitStatistics()
        exits.count(.pageFault, 5)
        exits.count(.sfenceVMA, 2)
        exits.count(.csrWrite, 7)
        exits.count(.mmio, 3)
        #expect(exits.pagingExits == 7)
        var translation = TranslationStatistics()
        translation.misses = [1, 2, 1]
        translation.walkReferences = 12
        translation.hits = [0, 10, 4]
        let row = PagingFigures(workload: "w", mode: "shadow", translation: translation, hartRetired: 100, guestInstructions: 100,
                                exits: exits, wallSeconds: 0.5, verdict: "ok")
        #expect(row.tlbMisses == 4 && row.tlbHits == 99 + 14)
        #expect(row.referencesPerWalk == 3)
        let bare = PagingFigures(workload: "w", mode: "bare", translation: translation, hartRetired: 100, guestInstructions: 100,
                                 exits: nil, wallSeconds: 0.25, verdict: "ok")
        let table = PagingTable.render([bare, row], title: "t")
        let lines = table.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[2].contains(" - ") && lines[2].hasSuffix("ok"))
        #expect(lines[3].contains("3.00") && lines[3].contains("0.500 s"))
    }
}
