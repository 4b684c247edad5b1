import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// The VMM against its oracle, the bare machine: a privileged guest must end in the same
/// architectural state (registers, pc, CSRs, retired instructions) whether the hart runs it
/// directly or the VMM runs it deprivileged in U-mode and emulates everything that traps.
@Suite("Trap-and-emulate matches the bare machine")
struct CSREmulationTests {
    static let comparedCSRs: [UInt16] = [
        CSR.mstatus, CSR.sstatus, CSR.mtvec, CSR.stvec, CSR.mepc, CSR.sepc, CSR.mcause, CSR.scause, CSR.mtval,
        CSR.stval, CSR.mscratch, CSR.sscratch, CSR.mie, CSR.sie, CSR.mip, CSR.sip, CSR.medeleg, CSR.mideleg,
        CSR.satp, CSR.mcounteren, CSR.scounteren, CSR.minstret, CSR.mcycle, CSR.time, CSR.misa,
    ]

    struct FinalState: Equatable, CustomStringConvertible {
        var registers: [UInt32]
        var pc: UInt32
        var csrs: [UInt16: UInt32]
        var retired: UInt64
        var description: String {
            "pc=\(hex8(pc)) retired=\(retired) regs=\(registers.enumerated().map { "x\($0.offset)=\(hex8($0.element))" }.joined(separator: " ")) csrs=\(csrs.sorted { $0.key < $1.key }.map { "\(String($0.key, radix: 16))=\(hex8($0.value))" }.joined(separator: " "))"
        }
    }

    static func assemble(_ source: String) throws -> ELFFile {
        let program = try Assembler.assemble(source: source, fileName: "guest.S", base: 0x8000_0000)
        return try ELFFile(bytes: program.elfExecutable())
    }

    static func runBare(_ image: ELFFile, ramSize: Int, engine: ExecutionEngineKind) throws -> FinalState {
        var configuration = MachineConfiguration()
        configuration.ramSize = ramSize
        configuration.engine = engine
        let machine = try Machine(configuration: configuration)
        machine.console = .silent
        try machine.load(image)
        let stop = machine.run(maxInstructions: 50_000_000)
        #expect(stop == .exited(code: 0), "bare run stopped with \(stop)")
        return FinalState(registers: (0..<32).map { machine.register(Register(UInt8($0))) }, pc: machine.pc,
                          csrs: Dictionary(uniqueKeysWithValues: comparedCSRs.map { ($0, machine.readCSR($0)) }),
                          retired: machine.retiredInstructions)
    }

    static func runVirtualized(_ image: ELFFile, ramSize: Int, engine: ExecutionEngineKind) throws -> (FinalState, VirtualMachine) {
        var request = VMMBootRequest(image: image, name: "guest", console: .silent)
        request.memorySize = UInt32(ramSize)
        request.engine = engine
        request.instructionBudget = 50_000_000
        let emulator = PrivilegedInstructionEmulator()
        let vm = try GuestHost.makeGuest(request, handler: emulator)
        let result = vm.run()
        #expect(result == .exited(code: 0), "virtualized run ended with \(result)")
        let vcpu = vm.vcpu
        return (FinalState(registers: (0..<32).map { vcpu.register($0) }, pc: vcpu.pc,
                           csrs: Dictionary(uniqueKeysWithValues: comparedCSRs.map { ($0, emulator.read($0, vcpu: vcpu) ?? 0xDEAD) }),
                           retired: vcpu.retired), vm)
    }

    static let guests: [(String, String, Int)] = [
        ("machine CSRs", PrivilegedGuests.machineCSRs, 1 << 20),
        ("privilege levels", PrivilegedGuests.privilegeLevels, 1 << 20),
        ("timer interrupts", PrivilegedGuests.timer, 1 << 20),
        ("Sv32 paging", PrivilegedGuests.paging, 4 << 20),
        ("atomics across a trap", PrivilegedGuests.atomics, 1 << 20),
    ]

    @Test("same final state bare and under the VMM", arguments: [0, 1, 2, 3, 4], ExecutionEngineKind.allCases)
    func sameFinalState(_ index: Int, _ engine: ExecutionEngineKind) throws {
        let (name, source, ramSize) = Self.guests[index]
        let image = try Self.assemble(source)
        let bare = try Self.runBare(image, ramSize: ramSize, engine: engine)
        let (virtualized, _) = try Self.runVirtualized(image, ramSize: ramSize, engine: engine)
        #expect(virtualized == bare, "\(name) on \(engine): VMM \(virtualized)\nbare \(bare)")
        for (number, value) in bare.csrs where virtualized.csrs[number] != value {
            Issue.record("\(name): CSR 0x\(String(number, radix: 16)) is 0x\(hex8(virtualized.csrs[number] ?? 0)) under the VMM, 0x\(hex8(value)) bare")
        }
        for r in 0..<32 where virtualized.registers[r] != bare.registers[r] {
            Issue.record("\(name): x\(r) is 0x\(hex8(virtualized.registers[r])) under the VMM, 0x\(hex8(bare.registers[r])) bare")
        }
    }

    @Test("the guests really exercise what they claim (traps taken, values seen)")
    func guestsAreNotVacuous() throws {
        let csrs = try Self.runBare(Self.assemble(PrivilegedGuests.machineCSRs), ramSize: 1 << 20, engine: .interpreter)
        // Three illegal CSR accesses (unknown 0x7c0, write to mvendorid, write to cycle) trapped: gp = 3 * cause 2.
        #expect(csrs.registers[3] == 6)
        #expect(csrs.registers[26] == 1000, "the instruction after writing minstret reads exactly the value written")
        let timer = try Self.runBare(Self.assemble(PrivilegedGuests.timer), ramSize: 1 << 20, engine: .interpreter)
        #expect(timer.registers[8] == 6, "six timer interrupts taken")
        let atomics = try Self.runBare(Self.assemble(PrivilegedGuests.atomics), ramSize: 1 << 20, engine: .interpreter)
        #expect(atomics.registers[11] == 1 && atomics.registers[13] == 0, "SC after a trap fails, a clean LR/SC succeeds")
        let (paging, vm) = try Self.runVirtualized(Self.assemble(PrivilegedGuests.paging), ramSize: 4 << 20, engine: .translator)
        #expect(vm.statistics[.pageFault] > 0 && vm.statistics[.guestPageFault] > 0)
        #expect(paging.registers[27] == 9, "the paging guest ends with an ECALL from S to M")
    }
}

/// Shadow paging seen from inside the guest: coherence after SFENCE.VMA, and isolation.
@Suite("Shadow page tables")
struct ShadowPagingTests {
    @Test("a remapped page is seen after SFENCE.VMA; a PTE outside the allotment or at 0x80000000 never reaches other memory")
    func coherenceAndIsolation() throws {
        let image = try CSREmulationTests.assemble(PrivilegedGuests.paging)
        for engine in ExecutionEngineKind.allCases {
            let (state, vm) = try CSREmulationTests.runVirtualized(image, ramSize: 4 << 20, engine: engine)
            let r = state.registers
            #expect(r[10] == 0x1111_1111, "a0: the first mapping")
            #expect(r[12] == 0x2222_2222, "a2: after the remap and SFENCE.VMA the guest sees the new page")
            #expect(r[13] == 0, "a3: the load through a PTE just past the guest's RAM did not complete")
            // The guest's frame 0 is its own first instruction, not the VMM's shadow-table pool,
            // which is what machine 0x80000000 holds.
            let firstWord = image.segments.first { $0.executable }.map { UInt32($0.data[0]) | UInt32($0.data[1]) << 8 | UInt32($0.data[2]) << 16 | UInt32($0.data[3]) << 24 }
            #expect(r[14] == firstWord, "a4: guest-physical 0x80000000 is the guest's own first frame")
            #expect(vm.memory.machineAddress(of: 0x8000_0000) != 0x8000_0000, "the p2m is not the identity")
            // The traps: load access fault (5) for the PTE outside the RAM, store page fault (15) on the
            // read-only page, load page faults (13) for the U page from S without SUM and the unmapped page.
            #expect(r[24] == 5 + 15 + 13 + 13, "s8: sum of the scause values the guest's handler saw")
            #expect(r[26] == 4, "s10: four traps reached the guest's handler")
            #expect(r[16] & 0xC0 == 0x40, "a6: the read-only page's PTE got A (read) and not D")
            #expect(r[17] & 0xC0 == 0xC0, "a7: the written page's PTE got A and D")
            #expect(r[19] == 0, "s3: S may not read a U page without SUM")
            #expect(r[20] == 0x1111_1111, "s4: with SUM it may")
        }
    }
}
