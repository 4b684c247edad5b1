import Machine
import RISCV

/// "Every translation the guest gets equals the one the bare machine makes": a differential check
/// of a VMM's memory virtualization, run in lock-step with the bare machine.
///
/// The same image runs twice: on a bare `Machine` (the reference: guest-physical = physical) and
/// under the VMM being audited. Whenever the hart that runs the guest fills its TLB, the audit
/// looks at the bare machine *at the same retired-instruction count* and asks its MMU, without
/// side effects, how it translates the same virtual page for the same kind of access in its
/// current context. The VMM's answer is a machine page; the bare machine's is a guest-physical
/// page, which the guest's p2m (`GuestMemory.machineAddress(of:)`) turns into the machine page the
/// VMM should have produced. The first difference is reported.
///
/// Why the hart's TLB fills: they are where every translation a VMM installs is finally used, in
/// every design. Under shadow paging the hart walks the shadow tables the pager wrote, so each
/// shadow entry is checked the first time the guest uses it (right after the fill exit), with the
/// permission the guest used it for (a pager that maps a page writable by mistake is caught at the
/// first store through it). Under nested paging the hart walks the guest's tables over the G-stage
/// itself. Nothing in the VMM needs a hook, so the same audit runs a student's pager (Lab 05).
/// Translations the VMM makes in software for accesses it emulates (MMIO, MPRV) are not the
/// hart's and are not audited here.
///
/// Lock-step: the VMM's guest retires exactly the instructions the bare machine does (hart-run plus
/// VMM-emulated ones, `VirtualCPU.retired`), so at a fill the guest's count is the hart's retired
/// count plus the instructions emulated so far, plus a constant. The audit also compares the pc
/// of the instruction making the access with the bare machine's pc at that count: if they differ
/// the two runs are no longer the same program, and that is reported instead ("lock-step lost").
/// A hardware-assisted guest must therefore run its own firmware (`servesFirmwareCalls = false`),
/// and the guest must be alone on its machine.
public final class TranslationAudit {
    /// What the audit needs of a VMM: the hart it runs the guest on, the guest's p2m, its retired
    /// count and emulated-instruction count (both live), and a way to run it for a while.
    public struct Guest {
        public let machine: Machine
        public let memory: GuestMemory
        public let retired: () -> UInt64
        public let emulated: () -> UInt64
        public let run: (UInt64) -> GuestRunResult
        public init(machine: Machine, memory: GuestMemory, retired: @escaping () -> UInt64, emulated: @escaping () -> UInt64,
                    run: @escaping (UInt64) -> GuestRunResult) {
            self.machine = machine
            self.memory = memory
            self.retired = retired
            self.emulated = emulated
            self.run = run
        }

        /// A trap-and-emulate guest (shadow paging), with whatever pager and handlers it has.
        public init(_ vm: VirtualMachine) {
            self.init(machine: vm.machine, memory: vm.memory, retired: { vm.vcpu.retired },
                      emulated: { vm.statistics.emulatedInstructions }, run: { vm.run(maxInstructions: $0) })
        }
    }

    /// The first translation that differs.
    public struct Mismatch: Sendable, CustomStringConvertible {
        public var virtualPage: UInt32
        public var access: TranslationAccess
        public var pc: UInt32
        /// Guest instructions retired before the access.
        public var retired: UInt64
        /// The privilege the bare machine checks the access at.
        public var privilege: PrivilegeLevel
        /// The bare machine's answer: a guest-physical page, or the exception it raises.
        public var bare: Result<UInt32, TranslationFault>
        /// The machine page the VMM's hart used.
        public var vmmMachinePage: UInt32
        /// That machine page as guest-physical, if it is one of the guest's frames.
        public var vmmGuestPhysicalPage: UInt32?
        /// The machine page the bare answer stands for (nil if not guest RAM).
        public var expectedMachinePage: UInt32?

        public var description: String {
            let bareAnswer: String
            switch bare {
            case .success(let page):
                bareAnswer = "guest-physical 0x\(hex8(page))" + (expectedMachinePage.map { " (machine 0x\(hex8($0)))" } ?? " (not guest RAM)")
            case .failure(let fault):
                bareAnswer = fault.description
            }
            let vmmAnswer = "machine 0x\(hex8(vmmMachinePage))" + (vmmGuestPhysicalPage.map { " (guest-physical 0x\(hex8($0)))" } ?? " (not a guest frame)")
            return "translation mismatch at retired \(retired), pc 0x\(hex8(pc)): \(access) of virtual page 0x\(hex8(virtualPage)) at \(privilege) privilege: bare machine \(bareAnswer), VMM \(vmmAnswer)"
        }
    }

    public struct Report: CustomStringConvertible {
        /// TLB fills of the VMM's hart compared with the bare machine.
        public var checked = 0
        /// Of those, fills for two-stage (nested) translations.
        public var checkedTwoStage = 0
        public var mismatch: Mismatch? = nil
        /// The runs stopped being the same program (different pc at the same count, or the bare
        /// machine stopped first); the audit could not go on.
        public var lockStepLost: String? = nil
        public var guestResult: GuestRunResult? = nil
        public var guestInstructions: UInt64 = 0
        public var bareInstructions: UInt64 = 0
        public var bareStop: StopReason? = nil
        /// The bare machine's console output.
        public var bareConsole: [UInt8] = []

        /// No mismatch and the lock-step held to the end.
        public var passed: Bool { mismatch == nil && lockStepLost == nil }

        public var description: String {
            if let mismatch { return "FAILED after \(checked) translations: \(mismatch)" }
            if let lockStepLost { return "INCONCLUSIVE after \(checked) translations: lock-step lost: \(lockStepLost)" }
            return "passed: \(checked) translations (\(checkedTwoStage) two-stage) equal the bare machine's over \(guestInstructions) guest instructions"
        }
    }

    public let guest: Guest
    /// The reference: the same image on a bare machine with the guest's amount of RAM.
    public let bare: Machine
    private var report = Report()
    private var pending: [TLBFill] = []
    private var pendingRetired: [UInt64] = []
    private final class Sink { var bytes: [UInt8] = [] }
    private let sink = Sink()

    /// Builds the bare reference machine for `image` (RAM = the guest's memory size, engine =
    /// the guest machine's unless `bareConfiguration` says otherwise) and attaches to `guest`,
    /// which must have loaded the same image and not run yet.
    public init(image: ELFFile, guest: Guest, bareConfiguration: MachineConfiguration? = nil) throws(GuestImageError) {
        self.guest = guest
        var configuration = bareConfiguration ?? MachineConfiguration()
        if bareConfiguration == nil {
            configuration.engine = guest.machine.configuration.engine
            configuration.ramSize = Int(guest.memory.size)
        }
        do {
            bare = try Machine(configuration: configuration)
            try bare.load(image)
        } catch {
            throw GuestImageError("translation audit: the bare machine: \(error)")
        }
        let sink = self.sink
        bare.console = ConsoleIO(write: { sink.bytes.append($0) })
    }

    /// Runs both to the guest's end (or `maxInstructions` guest instructions) in slices of
    /// `slice` instructions, and reports the first mismatch, if any.
    public func run(maxInstructions: UInt64? = nil, slice: UInt64 = 200_000) -> Report {
        let machine = guest.machine
        let emulated = guest.emulated
        // Guest retired = hart retired + emulated + this constant, for the whole run.
        let offset = guest.retired() &- machine.retiredInstructions &- emulated()
        let previousObserver = machine.tlbFillObserver
        machine.tlbFillObserver = { [unowned self] fill in
            self.pending.append(fill)
            self.pendingRetired.append(fill.retired &+ emulated() &+ offset)
        }
        defer { machine.tlbFillObserver = previousObserver }
        let limit = maxInstructions ?? .max
        while report.passed {
            let done = guest.retired()
            guard done < limit else { break }
            let result = guest.run(min(slice, limit - done))
            checkPending()
            if case .sliceEnded = result { continue }
            report.guestResult = result
            break
        }
        report.guestInstructions = guest.retired()
        if report.passed, report.guestResult != nil {
            // Let the reference finish too (it stops at its own exit, normally at the same count).
            report.bareStop = bare.run(maxInstructions: report.guestInstructions &- min(report.guestInstructions, bare.retiredInstructions) &+ 1)
        }
        report.bareInstructions = bare.retiredInstructions
        report.bareConsole = sink.bytes
        return report
    }

    /// Compares every fill of the last slice, in order, moving the bare machine forward to each.
    private func checkPending() {
        defer {
            pending.removeAll(keepingCapacity: true)
            pendingRetired.removeAll(keepingCapacity: true)
        }
        var index = 0
        while index < pending.count && report.passed {
            let fill = pending[index], retired = pendingRetired[index]
            if bare.retiredInstructions < retired {
                let stop = bare.run(maxInstructions: retired - bare.retiredInstructions)
                if bare.retiredInstructions != retired {
                    report.lockStepLost = "the bare machine stopped at \(bare.retiredInstructions) instructions (\(stop)) before the guest's access at \(retired)"
                    report.bareStop = stop
                    return
                }
            } else if bare.retiredInstructions > retired {
                report.lockStepLost = "a fill at retired \(retired) arrived after the bare machine passed it (\(bare.retiredInstructions)): is the guest alone on its machine?"
                return
            }
            // The fills the instruction at this pc made at this count (its fetch, its data access).
            var last = index
            while last + 1 < pending.count && pendingRetired[last + 1] == retired && pending[last + 1].pc == fill.pc { last += 1 }
            if bare.pc == fill.pc {
                for i in index...last { compare(pending[i], retired: retired) }
            } else {
                compareAfterTrap(pending[index...last], retired: retired)
            }
            index = last + 1
        }
    }

    /// The guest is at a trap handler the VMM delivered (an exception or an interrupt) while the
    /// bare machine, at the same count, has not taken that trap yet: it takes it on its next step
    /// without retiring anything. Step it with a trap observer and compare at the moment the trap
    /// lands on the guest's pc, in the handler's context.
    private func compareAfterTrap(_ fills: ArraySlice<TLBFill>, retired: UInt64) {
        let pc = fills[fills.startIndex].pc
        var compared = false
        let previousObserver = bare.trapObserver
        bare.trapObserver = { [unowned self] _ in
            guard !compared, self.bare.pc == pc, self.bare.retiredInstructions == retired else { return }
            compared = true
            for fill in fills { self.compare(fill, retired: retired) }
        }
        let stop = bare.run(maxInstructions: 1)
        bare.trapObserver = previousObserver
        if !compared {
            report.lockStepLost = "at retired \(retired) the guest is at pc 0x\(hex8(pc)); the bare machine did not get there (it went on from 0x\(hex8(bare.pc)), \(stop))"
        }
    }

    private func compare(_ fill: TLBFill, retired: UInt64) {
        report.checked += 1
        if fill.twoStage { report.checkedTwoStage += 1 }
        guard let answer = bare.probeTranslation(fill.virtualPage, fill.access) else {
            report.lockStepLost = "the bare machine cannot probe a two-stage translation"
            return
        }
        let memory = guest.memory
        var expected: UInt32? = nil
        if case .success(let guestPhysical) = answer {
            expected = memory.machineAddress(of: guestPhysical & ~0xFFF)
            if expected == fill.physicalPage { return }
        }
        let privilege = fill.access == .fetch ? bare.privilege : bare.dataAccessPrivilege
        report.mismatch = Mismatch(virtualPage: fill.virtualPage, access: fill.access, pc: fill.pc, retired: retired,
                                   privilege: privilege, bare: answer.map { $0 & ~0xFFF }, vmmMachinePage: fill.physicalPage,
                                   vmmGuestPhysicalPage: guestPhysicalPage(ofMachinePage: fill.physicalPage),
                                   expectedMachinePage: expected)
    }

    /// The guest-physical page a machine page backs, if it is one of the guest's frames.
    private func guestPhysicalPage(ofMachinePage page: UInt32) -> UInt32? {
        guard let index = guest.memory.machineFrames.firstIndex(of: page) else { return nil }
        return GuestMemory.base &+ UInt32(index) * GuestMemory.pageSize
    }
}
