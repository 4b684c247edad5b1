import Foundation
import Hypervisor
import HypervisorCore
import Lab05
import Machine
import RISCV
import Testing

/// The package root (this file is Grader/HiddenTests/05-shadow-paging/Lab05HiddenTests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A hidden-test guest kernel: Grader/HiddenTests/05-shadow-paging/Guests/NAME.c (sources, build.sh,
/// the committed images), carried in base64 by GuestImages.swift, which build.sh writes.
func hiddenGuest(_ name: String) throws -> ELFFile {
    guard let text = guestImagesBase64[name], let bytes = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
        throw GuestImageError("no hidden guest image named \(name)")
    }
    return try ELFFile(bytes: Array(bytes))
}

/// The shipped teaching kernel.
func teachingKernel() throws -> ELFFile {
    let path = packageRoot.appendingPathComponent("Sources/VLabCLI/Guests/kernel/kernel.elf")
    return try ELFFile(bytes: Array(try Data(contentsOf: path)))
}

/// One guest run under a shadow pager (the submission's unless another factory is given), audited
/// translation by translation against the bare machine.
final class AuditedRun {
    let name: String
    var console: [UInt8] = []
    let vm: VirtualMachine
    var pager: any ShadowPager { vm.pager }
    private(set) var report: TranslationAudit.Report?
    private let image: ELFFile
    private let memory: UInt32, shadowFrames: Int, engine: ExecutionEngineKind

    /// `shadowFrames`: the VMM's pool for this guest's shadow tables (the VMM's default: 256).
    init(_ name: String, image: ELFFile, memory: UInt32 = 8 << 20, shadowFrames: Int = VirtualMachine.defaultShadowFrames,
         engine: ExecutionEngineKind = .interpreter, pager factory: ShadowPagerFactory? = nil) throws {
        self.name = name
        self.image = image
        (self.memory, self.shadowFrames, self.engine) = (memory, shadowFrames, engine)
        var configuration = GuestConfiguration()
        configuration.name = name
        configuration.memorySize = memory
        var machineConfiguration = MachineConfiguration()
        machineConfiguration.engine = engine
        machineConfiguration.interceptUserTraps = true
        machineConfiguration.ramSize = shadowFrames * 4096 + Int(memory)
        let machine = try Machine(configuration: machineConfiguration)
        machine.console = .silent
        var allocator = MachineFrameAllocator(ramSize: machineConfiguration.ramSize)
        let shadow = try allocator.allocate(shadowFrames, for: "\(name) shadow tables")
        let frames = try allocator.allocate(Int(memory / 4096), for: "\(name) memory")
        let box = ConsoleBox()
        vm = try VirtualMachine(configuration: configuration, machine: machine, memoryFrames: frames, shadowFrames: shadow,
                                console: ConsoleIO(write: { box.bytes.append($0) }), handler: PrivilegedInstructionEmulator(),
                                pager: factory ?? CachingShadowPager.factory)
        try vm.load(image)
        consoleBox = box
    }

    private var consoleBox = ConsoleBox()
    private final class ConsoleBox { var bytes: [UInt8] = [] }

    /// Runs the guest to its end (or `maxInstructions`) with the translation audit.
    @discardableResult
    func run(maxInstructions: UInt64 = 20_000_000) throws -> TranslationAudit.Report {
        let audit = try TranslationAudit(image: image, guest: TranslationAudit.Guest(vm))
        let report = audit.run(maxInstructions: maxInstructions)
        self.report = report
        console = consoleBox.bytes
        return report
    }

    var statistics: ShadowStatistics { pager.statistics }
    /// Shadow misses the VMM filled, as the VMM counted them (a pager reports its own
    /// `statistics`; this count it cannot change).
    var pageFaultExits: UInt64 { vm.statistics[.pageFault] }
    var output: String { String(decoding: console, as: UTF8.self) }
    var bareOutput: String { String(decoding: report?.bareConsole ?? [], as: UTF8.self) }

    /// The submission's TODOs reached, as a suffix for failure messages.
    var todo: String {
        guard let pager = pager as? CachingShadowPager, let summary = pager.unfinished.summary else { return "" }
        return "\n\nYour pager reached these TODOs:\n\(summary)"
    }

    /// Records every way this run differs from the bare machine: a translation, the lock-step, the
    /// console bytes, the way it ended (`ending`: nil = an exit with status 0, as bare), the count
    /// of guest instructions.
    func expectSameAsBare(ending: ((GuestRunResult?) -> Bool)? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let report else {
            Issue.record("\(name): never ran", sourceLocation: sourceLocation)
            return
        }
        if let mismatch = report.mismatch {
            Issue.record(Comment(rawValue: "\(name): \(mismatch)\(todo)"), sourceLocation: sourceLocation)
        }
        if let lost = report.lockStepLost {
            Issue.record(Comment(rawValue: "\(name): the run stopped matching the bare machine: \(lost)\(todo)"), sourceLocation: sourceLocation)
        }
        if let ending {
            #expect(ending(report.guestResult), "\(name): the guest ended with \(report.guestResult.map { "\($0)" } ?? "no result")\(todo)",
                    sourceLocation: sourceLocation)
        } else {
            #expect(report.guestResult == GuestRunResult.exited(code: 0), "\(name): the guest ended with \(report.guestResult.map { "\($0)" } ?? "no result")\(todo)",
                    sourceLocation: sourceLocation)
            #expect(report.guestInstructions == report.bareInstructions,
                    "\(name): \(report.guestInstructions) guest instructions under the VMM, \(report.bareInstructions) bare", sourceLocation: sourceLocation)
        }
        if console != report.bareConsole {
            let common = zip(console, report.bareConsole).prefix { $0 == $1 }.count
            let lineStart = report.bareConsole[..<common].lastIndex(of: 10).map { $0 + 1 } ?? 0
            let expectedLine = String(decoding: report.bareConsole[lineStart...].prefix { $0 != 10 }, as: UTF8.self)
            let actualLine = String(decoding: console[min(lineStart, console.count)...].prefix { $0 != 10 }, as: UTF8.self)
            Issue.record(Comment(rawValue: "\(name): the console differs from byte \(common) on:\n  bare:      \(expectedLine)\n  under VMM: \(actualLine)\(todo)"),
                         sourceLocation: sourceLocation)
        }
    }
}

extension AuditedRun {
    /// The same guest, same memory, pool and engine, under HypervisorCore's `FlushingShadowPager`
    /// (every table dropped at every fence and satp write), unaudited: the VMM's exit counts.
    func flushingExits(maxInstructions: UInt64) throws -> ExitStatistics {
        let flushing = try AuditedRun(name, image: image, memory: memory, shadowFrames: shadowFrames, engine: engine,
                                      pager: FlushingShadowPager.factory)
        _ = flushing.vm.run(maxInstructions: maxInstructions)
        return flushing.vm.statistics
    }

    func flushingPageFaultExits(maxInstructions: UInt64) throws -> UInt64 {
        try flushingExits(maxInstructions: maxInstructions)[.pageFault]
    }

    /// What makes this lab's pager a cache, checked on every graded guest: its shadow tables
    /// survive satp switches and fences, so the guest takes clearly fewer page-fault exits than
    /// under a pager that drops every table at each of them (the reference takes 10-80% of that
    /// pager's, depending on the guest). The count is the VMM's, not the pager's own statistics,
    /// and a pager that hands its calls to `FlushingShadowPager` takes exactly as many.
    /// Call it after `run`.
    func expectCachesAcrossSwitches(maxInstructions: UInt64 = 20_000_000, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for finding in try cacheFindings(maxInstructions: maxInstructions) {
            Issue.record(Comment(rawValue: "\(name): \(finding)\(todo)"), sourceLocation: sourceLocation)
        }
    }

    /// What `expectCachesAcrossSwitches` records, one line each (none: the pager is a cache).
    func cacheFindings(maxInstructions: UInt64) throws -> [String] {
        var findings: [String] = []
        let flushing = try flushingExits(maxInstructions: maxInstructions)
        if let shortfall = cacheShortfall(yours: pageFaultExits, flushing: flushing[.pageFault]) {
            findings.append(shortfall)
        }
        // A pager chooses the reason of the exits it asks for (`.emulate(reason:)`), so fewer
        // page-fault exits must not come from emulating accesses instead: every other exit the
        // guest takes is the same under both pagers, and write-protect exits cost the reference
        // at most 3% more exits in all (a pager that never unshadows, about 30% on `spaces`).
        let yoursInAll = vm.statistics.totalExits, theirsInAll = flushing.totalExits
        if yoursInAll * 2 > theirsInAll * 3 {
            findings.append("\(yoursInAll) exits in all under your pager, \(theirsInAll) under one that drops every shadow table at every fence and satp write: at most one and a half times as many")
        }
        for delegate in otherPagers(inside: pager) {
            findings.append("the pager holds another ShadowPager (\(delegate)) and hands its work to it: this lab's pager is the one you write")
        }
        return findings
    }
}

/// Why `yours` page-fault exits are not a cache's, against `flushing`'s on the same guest; nil if
/// they are: at most nine tenths of them.
func cacheShortfall(yours: UInt64, flushing: UInt64) -> String? {
    if yours * 10 <= flushing * 9 { return nil }
    return "\(yours) page-fault exits under your pager, \(flushing) under one that drops every shadow table at every fence and satp write: shadow tables must survive switches and fences (at most 90% of its exits)"
}

/// The ShadowPager instances reachable through `pager`'s stored properties (not `pager` itself),
/// as type names: a cheap guard against a pager that forwards its calls to another one. Mirror
/// sees stored properties, collections and optionals, not closure captures, hence
/// `expectCachesAcrossSwitches`'s count of exits as well.
func otherPagers(inside pager: any ShadowPager, nodeLimit: Int = 50_000) -> [String] {
    var found: [String] = []
    var seen: Set<ObjectIdentifier> = [ObjectIdentifier(pager as AnyObject)]
    var pending: [Any] = Mirror(reflecting: pager).children.map(\.value)
    var visited = 0
    while let value = pending.popLast(), visited < nodeLimit {
        visited += 1
        // The VMM's own objects (the hart with its RAM, guest memory, the frame pool) hold no pager.
        if value is Machine || value is GuestMemory || value is ShadowFramePool { continue }
        var mirror: Mirror? = Mirror(reflecting: value)
        if mirror?.displayStyle == .class {
            guard seen.insert(ObjectIdentifier(value as AnyObject)).inserted else { continue }
            if value is any ShadowPager { found.append("\(type(of: value))") }
        }
        while let level = mirror {
            pending.append(contentsOf: level.children.prefix(4096).map(\.value))
            mirror = level.superclassMirror
        }
    }
    return found
}

/// Runs a hidden guest under the submission's pager and expects it to do exactly what it does
/// bare, with fewer page-fault exits than a pager without a cache.
@discardableResult
func expectSameAsBare(_ name: String, engine: ExecutionEngineKind = .interpreter, shadowFrames: Int = VirtualMachine.defaultShadowFrames,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> AuditedRun {
    let run = try AuditedRun("\(name).elf", image: try hiddenGuest(name), shadowFrames: shadowFrames, engine: engine)
    try run.run()
    run.expectSameAsBare(sourceLocation: sourceLocation)
    #expect(run.bareOutput.hasPrefix(name), "\(name): the bare run printed \(run.bareOutput.prefix(80))", sourceLocation: sourceLocation)
    try run.expectCachesAcrossSwitches(sourceLocation: sourceLocation)
    return run
}
