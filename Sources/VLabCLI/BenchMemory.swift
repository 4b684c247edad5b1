import ArgumentParser
import Foundation
import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV

extension VLab.Bench {
    /// `vlab bench memory`: the memory workloads bare, under shadow paging and under nested paging.
    struct Memory: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "memory",
            abstract: "Run the memory workloads bare, under shadow paging and under nested paging; compare their translation costs.",
            discussion: """
                Workloads (Sources/VLabCLI/Guests/memory): \(MemoryWorkload.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; ")). \
                Modes: bare (the guest's own Sv32 on the machine), shadow (trap-and-emulate: the VMM's shadow tables), \
                shadow/32 (pt-heavy only: the same pager held to 32 shadow tables, fewer than the 64 address spaces and views \
                the workload has, so it evicts and rebuilds: flooded shadow tables), nested (hardware-assisted: the hart walks the guest's tables over the G-stage), nested+cache (the same \
                with the G-stage walk cache). Columns: guest instructions; the hart's TLB hits and misses (each miss is a \
                page walk; every data lookup is counted in a separate counting run); misses per 1000 instructions; page-table \
                references per walk (1-D Sv32: 2, 2-D Sv32 over Sv32x4: 8); G-stage references the walk cache saved; shadow \
                fills, rebuilds, evicted address spaces and peak frames of the reference shadow pager; VM exits caused by paging and all exits; wall time (median of the timing \
                runs, counters off). A run whose console or exit differs from bare's is WRONG and vlab exits non-zero. \
                Then the page-sharing rows: the shipped kernel in N identical domains under Dom0 with content-based \
                page sharing: frames promised, used and saved at boot and at the end, the peak, and the share breaks.
                """)

        @Option(help: "The engine the hart uses for every row.")
        var engine: ExecutionEngineKind = .translator

        @Option(name: .customLong("repeat"), help: ArgumentHelp("Time every row N times and report the median.", valueName: "N"))
        var repeatCount = 3

        @Option(name: .customLong("workload"), help: ArgumentHelp("Run only this workload (repeatable).", valueName: "name"))
        var workloads: [String] = []

        @Option(name: .customLong("sharing-domains"),
                help: ArgumentHelp("Page-sharing rows: boot the shipped kernel in this many identical domains (repeatable; none with --no-sharing).", valueName: "N"))
        var sharingDomains: [Int] = [1, 2, 4]

        @Flag(name: .customLong("no-sharing"), help: "Leave out the page-sharing rows.")
        var noSharing = false

        func validate() throws {
            guard (1...100).contains(repeatCount) else { throw ValidationError("--repeat \(repeatCount): must be 1...100") }
            for count in sharingDomains where !(1...64).contains(count) {
                throw ValidationError("--sharing-domains \(count): must be 1...64")
            }
            for name in workloads where MemoryWorkload(rawValue: name) == nil {
                throw ValidationError("--workload \(name): no such workload (\(MemoryWorkload.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }

        func run() throws {
            let selected = workloads.isEmpty ? MemoryWorkload.allCases : workloads.compactMap(MemoryWorkload.init(rawValue:))
            let benchmark = MemoryBenchmark(engine: engine, repeatCount: repeatCount)
            let rows = try benchmark.run(selected) { printDiagnostic("bench: \($0)") }
            print(PagingTable.render(rows, title: "vlab bench memory: the memory workloads on the \(engine), bare and under shadow and nested paging"),
                  terminator: "")
            var sharingDiffers = false
            if !noSharing {
                let (table, reports) = try MemoryBenchmark.sharingTable(domains: sharingDomains, engine: engine) { printDiagnostic("bench: \($0)") }
                print(table, terminator: "")
                sharingDiffers = reports.contains { !$0.outputsMatchAlone }
            }
            if let wrong = rows.first(where: { $0.verdict.hasPrefix("WRONG") }) {
                throw CommandFailure("bench memory: \(wrong.workload) \(wrong.mode): \(wrong.verdict)")
            }
            if sharingDiffers { throw CommandFailure("bench memory: page sharing: a domain's output differs from the kernel run alone") }
        }
    }
}

/// The measurements behind `vlab bench memory`.
struct MemoryBenchmark {
    var engine: ExecutionEngineKind = .translator
    var repeatCount = 3
    var budget: UInt64 = 500_000_000

    enum Mode: String, CaseIterable {
        case bare, shadow
        /// The reference pager held to 32 shadow tables: fewer than pt-heavy's 64 (32 processes, each seen
        /// from U and from S), so it evicts and rebuilds — the seed's "flooded" shadow tables, on purpose.
        case floodedShadow = "shadow/32"
        case nested
        case nestedWithCache = "nested+cache"
    }

    /// The page-sharing rows: N domains booting the same kernel under Dom0 with content-based page
    /// sharing (`PageSharingExperiment`, Sources/Hypervisor/Domains), in 4 KiB frames.
    static func sharingTable(domains: [Int], engine: ExecutionEngineKind,
                             progress: (String) -> Void = { _ in }) throws -> (String, [PageSharingReport]) {
        let kernel = try ShippedKernel.image(named: VMMMode.trapAndEmulate.shippedKernel)
        var lines = ["page sharing: \(VMMMode.trapAndEmulate.shippedKernel) in N identical domains of 4 MiB (1024 frames each), trap-and-emulate, frames of 4 KiB",
                     PageSharingReport.tableHeader]
        var reports: [PageSharingReport] = []
        for count in domains {
            progress("page sharing, \(count) domains")
            do {
                reports.append(try PageSharingExperiment.run(image: kernel, domains: count, engine: engine))
            } catch {
                throw CommandFailure("bench memory: \(error.message)")
            }
            lines.append(reports[reports.count - 1].tableRow)
        }
        return (lines.joined(separator: "\n") + "\n", reports)
    }

    static func image(_ workload: MemoryWorkload) throws -> ELFFile {
        guard let url = Bundle.module.url(forResource: workload.rawValue, withExtension: "elf", subdirectory: "Guests/memory") else {
            throw CommandFailure("\(workload.imageName): this vlab installation does not ship the memory workloads")
        }
        return try readELF(url.path)
    }

    func run(_ workloads: [MemoryWorkload], progress: (String) -> Void = { _ in }) throws -> [PagingFigures] {
        var rows: [PagingFigures] = []
        for workload in workloads {
            let image = try Self.image(workload)
            var bareConsole: [UInt8] = []
            // Only pt-heavy has more address spaces than 32 tables hold; elsewhere shadow/32 would repeat shadow.
            for mode in Mode.allCases where mode != .floodedShadow || workload == .pageTableHeavy {
                progress("\(workload.rawValue) \(mode.rawValue)")
                // One counting run (every TLB lookup counted), then the timing runs with the counters' fast path.
                let counted = try measure(image, workload: workload, mode: mode, counting: true)
                var times: [Double] = []
                for _ in 0..<repeatCount {
                    let clock = Stopwatch()
                    _ = try measure(image, workload: workload, mode: mode, counting: false)
                    times.append(clock.seconds)
                }
                if mode == .bare { bareConsole = counted.console }
                var verdict = "ok"
                if counted.exit != .exited(code: 0) {
                    verdict = "WRONG: ended with \(counted.exit)"
                } else if counted.console != bareConsole {
                    verdict = "WRONG: console output differs from bare"
                }
                rows.append(PagingFigures(workload: workload.rawValue, mode: mode.rawValue, translation: counted.translation,
                                          hartRetired: counted.hartRetired, guestInstructions: counted.guestInstructions,
                                          exits: mode == .bare ? nil : counted.exits, shadow: counted.shadow,
                                          wallSeconds: times.sorted()[times.count / 2],
                                          verdict: verdict))
            }
        }
        return rows
    }

    private struct Outcome {
        var exit: GuestRunResult
        var console: [UInt8]
        var translation: TranslationStatistics
        var hartRetired: UInt64
        var guestInstructions: UInt64
        var exits: ExitStatistics
        var shadow: ShadowStatistics? = nil
    }

    private func measure(_ image: ELFFile, workload: MemoryWorkload, mode: Mode, counting: Bool) throws -> Outcome {
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        let console = ConsoleIO(write: { sink.bytes.append($0) })
        var machine = MachineConfiguration()
        machine.engine = engine
        machine.countsEveryTLBLookup = counting
        switch mode {
        case .bare:
            machine.ramSize = Int(workload.memorySize)
            let bare: Machine
            do {
                bare = try Machine(configuration: machine)
                try bare.load(image)
            } catch {
                throw CommandFailure("bench memory: \(workload.rawValue): \(error)")
            }
            bare.console = console
            let stop = bare.run(maxInstructions: budget)
            let exit: GuestRunResult
            if case .exited(let code) = stop { exit = .exited(code: code) } else { exit = .sliceEnded }
            return Outcome(exit: exit, console: sink.bytes, translation: bare.translationStatistics, hartRetired: bare.retiredInstructions,
                           guestInstructions: bare.retiredInstructions, exits: ExitStatistics())
        case .shadow, .floodedShadow:
            var pagerConfiguration = ReferenceShadowPager.Configuration()
            if mode == .floodedShadow { pagerConfiguration.maximumAddressSpaces = 32 }
            var configuration = GuestConfiguration()
            configuration.name = workload.rawValue
            configuration.memorySize = workload.memorySize
            configuration.instructionBudget = budget
            let vm: VirtualMachine
            do {
                vm = try VirtualMachine.hostingOne(configuration, image: image, machine: machine, console: console,
                                                   handler: PrivilegedInstructionEmulator(), pager: ReferenceShadowPager.factory(pagerConfiguration))
            } catch {
                throw CommandFailure("bench memory: \(error.message)")
            }
            let result = vm.run()
            return Outcome(exit: result, console: sink.bytes, translation: vm.machine.translationStatistics,
                           hartRetired: vm.machine.retiredInstructions, guestInstructions: vm.vcpu.retired, exits: vm.statistics,
                           shadow: vm.pager.statistics)
        case .nested, .nestedWithCache:
            machine.gStageWalkCache = mode == .nestedWithCache
            var request = VMMBootRequest(image: image, name: workload.rawValue, console: console)
            request.machineConfiguration = machine
            request.memorySize = workload.memorySize
            request.instructionBudget = budget
            let guest: HardwareAssistedGuest
            do { guest = try HardwareAssistedGuest(request) } catch { throw CommandFailure("bench memory: \(error.message)") }
            let result = guest.run()
            return Outcome(exit: result, console: sink.bytes, translation: guest.machine.translationStatistics,
                           hartRetired: guest.machine.retiredInstructions, guestInstructions: guest.vcpu.retired, exits: guest.statistics)
        }
    }
}
