import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV

/// The seed's "VM images have a lot of repeated content", measured: N domains boot the same image
/// under Dom0; page sharing scans them once after loading (before any runs) and then every
/// `scanEverySlices` slices while they run. `vlab bench memory` prints one row per N.
///
/// Measured (kernel.elf, 4 MiB = 1024 frames per domain, trap-and-emulate, translator engine, a scan
/// every 25 slices of 20 000 instructions; frames of 4 KiB):
///
/// | domains | promised | used at boot | saved at boot (zero) | peak used | used at end | share breaks |
/// |--------:|---------:|-------------:|---------------------:|----------:|------------:|-------------:|
/// | 1 | 1024 | 5 | 1019 (1019) | 22 | 22 | 17 |
/// | 2 | 2048 | 5 | 2043 (2039) | 40 | 22 | 44 |
/// | 4 | 4096 | 5 | 4091 (4079) | 66 | 22 | 172 |
///
/// Freshly loaded, the domains differ in nothing: four image pages and one zero page serve all of
/// them. Running, each kernel writes its data, stacks and page tables (the share breaks), and the
/// peak grows by about 20 frames per domain; since the kernels are deterministic, they end with
/// identical memory and the last scan merges them back to one copy. Every domain prints exactly
/// what the image prints alone. Real guests' memory is far less uniform (Waldspurger's production
/// ESX servers reclaimed roughly 7 to 33 percent of guest memory); what this shows is the mechanism
/// and its bookkeeping, and that the zero page dominates a guest that has touched little memory.
public enum PageSharingExperiment {
    public static func run(image: ELFFile, domains: Int, memorySize: UInt32 = 4 << 20,
                           engine: ExecutionEngineKind = .translator, scanEverySlices: Int = 25,
                           maxInstructions: UInt64 = 50_000_000) throws(HypervisorError) -> PageSharingReport {
        guard domains >= 1, domains <= 64 else { throw HypervisorError("page sharing: \(domains) domains is outside 1...64") }
        guard scanEverySlices >= 1 else { throw HypervisorError("page sharing: scan interval \(scanEverySlices) must be at least 1") }
        let alone: BareMetal.Run
        do {
            alone = try BareMetal.run(image, engine: engine, maxInstructions: maxInstructions)
        } catch {
            throw HypervisorError("page sharing: \(error.message)")
        }
        var configuration = Dom0.Configuration()
        configuration.engine = engine
        configuration.machineMemory = domains * (Int(memorySize) + configuration.shadowFramesPerDomain * 4096)
        let dom0 = try Dom0(configuration: configuration, output: .silent)
        let ids = try (0..<domains).map { _ throws(HypervisorError) in
            try dom0.create(image: image, memorySize: memorySize, instructionBudget: maxInstructions)
        }
        var report = PageSharingReport(domains: domains, framesPerDomain: Int(memorySize / 4096))
        dom0.sharePages()
        let boot = dom0.memoryReport()
        report.framesPromised = boot.framesPromised
        report.framesUsedAtBoot = boot.framesUsed
        report.framesSavedAtBoot = boot.framesSaved
        report.zeroFramesSavedAtBoot = boot.zeroFramesSaved

        dom0.unpauseAll()
        var slices = 0
        report.peakFramesUsed = boot.framesUsed
        while dom0.runSlice() {
            slices += 1
            report.peakFramesUsed = max(report.peakFramesUsed, dom0.memoryReport().framesUsed)
            if slices % scanEverySlices == 0 { dom0.sharePages() }
        }
        dom0.sharePages()
        let end = dom0.memoryReport()
        report.framesUsedAtEnd = end.framesUsed
        report.framesSavedAtEnd = end.framesSaved
        report.shareBreaks = end.shareBreaks
        report.scans = dom0.sharing.statistics.scans
        report.hashCollisions = dom0.sharing.statistics.hashCollisions
        report.outputsMatchAlone = alone.exitCode == 0 && ids.allSatisfy { id in
            dom0.domain(id)?.state == .exited(code: 0) && dom0.consoleTranscript(id) == alone.console
        }
        return report
    }
}

/// What `PageSharingExperiment` measured, in 4 KiB frames.
public struct PageSharingReport: Equatable, Sendable {
    public var domains: Int
    public var framesPerDomain: Int
    /// Guest frames the domains were promised (domains × framesPerDomain).
    public var framesPromised = 0
    /// Machine frames behind the domains' memory after loading and one scan, before any ran.
    public var framesUsedAtBoot = 0
    public var framesSavedAtBoot = 0
    /// Of those saved, frames that are all zero (memory the image does not fill).
    public var zeroFramesSavedAtBoot = 0
    /// The most machine frames in use at any slice boundary while the domains ran.
    public var peakFramesUsed = 0
    /// After all domains stopped and a last scan.
    public var framesUsedAtEnd = 0
    public var framesSavedAtEnd = 0
    /// Private copies made because a domain wrote to a shared frame.
    public var shareBreaks = 0
    public var scans = 0
    public var hashCollisions = 0
    /// Every domain exited 0 and printed exactly what the image prints alone on the bare machine.
    public var outputsMatchAlone = false

    public static let tableHeader = "domains  promised  used(boot)  saved(boot)  zero  peak used  used(end)  saved(end)  share breaks  output"

    public var tableRow: String {
        func column(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: " ", count: max(0, width - text.count)) + text
        }
        return column(domains, 7) + column(framesPromised, 10) + column(framesUsedAtBoot, 12) + column(framesSavedAtBoot, 13)
            + column(zeroFramesSavedAtBoot, 6) + column(peakFramesUsed, 11) + column(framesUsedAtEnd, 11)
            + column(framesSavedAtEnd, 12) + column(shareBreaks, 14) + "  " + (outputsMatchAlone ? "same as alone" : "DIFFERS")
    }
}
