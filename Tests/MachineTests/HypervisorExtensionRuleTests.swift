import Foundation
import RISCV
import Testing
@testable import Machine

/// Rules of the hypervisor extension that the h-*.S guests cannot check against QEMU 7.2 (which
/// gets them wrong or lacks them), with expectations worked out from the specification; the
/// host-intercept option; and the TLB's separation of V=0 and V=1 translations. Each test runs on
/// both engines.
@Suite("Hypervisor extension: spec rules, intercepts, TLB")
struct HypervisorExtensionRuleTests {
    static let engines = ExecutionEngineKind.allCases
    static let virtualInstruction: UInt32 = 22
    static let pteV: UInt32 = 1, pteR: UInt32 = 2, pteW: UInt32 = 4, pteX: UInt32 = 8, pteU: UInt32 = 16
    static let pteAD: UInt32 = 0xC0

    // Machine memory of these tests (1 MiB of RAM at 0x80000000):
    static let gRoot: UInt32 = 0x8001_0000      // Sv32x4 root, 16 KiB
    static let gLevel0: UInt32 = 0x8001_4000
    static let vsRoot: UInt32 = 0x8002_0000     // guest-physical = machine (identity G-stage megapage)
    static let vsLevel0: UInt32 = 0x8002_1000
    static let hsRoot: UInt32 = 0x8002_2000     // HS-mode's own satp tables
    static let hsLevel0: UInt32 = 0x8002_3000
    static let pageA: UInt32 = 0x8003_0000
    static let pageC: UInt32 = 0x8003_2000
    static let magicA: UInt32 = 0xAAAA_0001, magicC: UInt32 = 0xCCCC_0003

    /// A hypervisor-extension machine with the parked trap handler, and the tables above:
    /// G-stage: guest-physical 0x80000000 (4 MiB) -> itself; guest-physical 0x200003000 (above
    /// 4 GiB: root index 0x800) -> pageC. VS-stage: 0x80000000 megapage -> itself, VA 0x40000000
    /// -> guest-physical 0x200003000, VA 0x40001000 -> guest-physical 0x50000000 (not mapped by
    /// the G-stage). HS satp: 0x80000000 megapage -> itself, VA 0x40000000 -> pageA.
    static func machine(_ engine: ExecutionEngineKind, interceptGuestTraps: Bool = false) throws -> Machine {
        var configuration = MachineConfiguration()
        configuration.ramSize = 1 << 20
        configuration.engine = engine
        configuration.hypervisorExtension = true
        configuration.interceptGuestTraps = interceptGuestTraps
        let machine = try Machine(configuration: configuration)
        machine.console = .silent
        try machine.write([Instruction(.jal, rd: .zero, immediate: 0)], at: handlerAddress)
        machine.writeCSR(CSR.mtvec, handlerAddress)
        machine.writeCSR(CSR.stvec, handlerAddress)
        machine.writeCSR(CSR.mcounteren, 0xFFFF_FFFF)
        func put(_ value: UInt32, _ address: UInt32) throws { try machine.writeWord(value, at: address) }
        try put(0x8000_0000 >> 2 | pteV | pteR | pteW | pteX | pteU | pteAD, gRoot + 0x200 * 4)
        try put(gLevel0 >> 2 | pteV, gRoot + 0x800 * 4)
        try put(pageC >> 2 | pteV | pteR | pteW | pteU | pteAD, gLevel0 + 3 * 4)
        try put(0x8000_0000 >> 2 | pteV | pteR | pteW | pteX | pteAD, vsRoot + 0x200 * 4)
        try put(vsLevel0 >> 2 | pteV, vsRoot + 0x100 * 4)
        try put(UInt32(0x2_0000_3000 as UInt64 >> 2) | pteV | pteR | pteW | pteAD, vsLevel0)
        try put(0x5000_0000 >> 2 | pteV | pteR | pteW | pteAD, vsLevel0 + 4)
        try put(0x8000_0000 >> 2 | pteV | pteR | pteW | pteX | pteAD, hsRoot + 0x200 * 4)
        try put(hsLevel0 >> 2 | pteV, hsRoot + 0x100 * 4)
        try put(pageA >> 2 | pteV | pteR | pteW | pteAD, hsLevel0)
        try put(magicA, pageA)
        try put(magicC, pageC)
        machine.writeCSR(CSR.hgatp, 0x8000_0000 | gRoot >> 12)
        machine.writeCSR(CSR.vsatp, 0x8000_0000 | vsRoot >> 12)
        return machine
    }

    /// Puts the hart in VS-mode (or VU-mode) and runs `program` at the RAM base.
    @discardableResult
    static func runAsGuest(_ machine: Machine, _ program: [Instruction], privilege: PrivilegeLevel = .supervisor, steps: UInt64? = nil) throws -> StopReason {
        machine.privilege = privilege
        machine.virtualizationMode = true
        return try machine.run(program, steps: steps)
    }

    @Test func defaultMachineHasNoHypervisorExtension() throws {
        let machine = try makeMachine()
        #expect(machine.readCSR(CSR.misa) & 1 << 7 == 0)
        try machine.run([csrr(x(5), CSR.hstatus)])
        #expect(machine.readCSR(CSR.mcause) == Cause.illegal, "hstatus does not exist")
        try machine.run([Instruction.illegal(0x6200_0073)])  // hfence.gvma
        #expect(machine.readCSR(CSR.mcause) == Cause.illegal)
        machine.virtualizationMode = true
        #expect(!machine.virtualizationMode, "V cannot be set without the extension")
    }

    @Test("a guest-physical address above 4 GiB (Sv32x4) translates", arguments: engines)
    func guestPhysicalAbove4GiB(_ engine: ExecutionEngineKind) throws {
        let machine = try Self.machine(engine)
        try Self.runAsGuest(machine, [Instruction(.lui, rd: x(5), immediate: 0x4000_0000), Instruction(.lw, rd: x(6), rs1: x(5))])
        #expect(machine.register(x(6)) == Self.magicC)
        #expect(machine.pc == ramBase + 8, "no trap")
    }

    @Test("VS-mode satp access with hstatus.VTVM is a virtual-instruction exception", arguments: engines)
    func satpWithVTVM(_ engine: ExecutionEngineKind) throws {
        let machine = try Self.machine(engine)
        machine.writeCSR(CSR.hstatus, 1 << 20)
        let read = csrr(x(5), CSR.satp)
        try Self.runAsGuest(machine, [read])
        #expect(machine.readCSR(CSR.mcause) == Self.virtualInstruction)
        #expect(machine.readCSR(CSR.mtval) == (try read.encoded()))
        // Without VTVM, satp is vsatp.
        let other = try Self.machine(engine)
        try Self.runAsGuest(other, [read])
        #expect(other.register(x(5)) == 0x8000_0000 | Self.vsRoot >> 12)
    }

    @Test("VU-mode access to a supervisor CSR is a virtual-instruction exception; to an M CSR illegal", arguments: engines)
    func userGuestCSRAccess(_ engine: ExecutionEngineKind) throws {
        let machine = try Self.machine(engine)
        machine.writeCSR(CSR.vsatp, 0)  // VS-stage Bare: VU-mode may run the code
        try Self.runAsGuest(machine, [csrr(x(5), CSR.sstatus)], privilege: .user)
        #expect(machine.readCSR(CSR.mcause) == Self.virtualInstruction)
        let other = try Self.machine(engine)
        other.writeCSR(CSR.vsatp, 0)
        try Self.runAsGuest(other, [csrr(x(5), CSR.mstatus)], privilege: .user)
        #expect(other.readCSR(CSR.mcause) == Cause.illegal)
    }

    @Test("counters in a guest need mcounteren (else illegal) and hcounteren (else virtual instruction)", arguments: engines)
    func guestCounters(_ engine: ExecutionEngineKind) throws {
        let rdcycle = csrr(x(5), CSR.cycle)
        let machine = try Self.machine(engine)
        try Self.runAsGuest(machine, [rdcycle])
        #expect(machine.readCSR(CSR.mcause) == Self.virtualInstruction)
        let noMachineBit = try Self.machine(engine)
        noMachineBit.writeCSR(CSR.mcounteren, 0)
        noMachineBit.writeCSR(CSR.hcounteren, 0xFFFF_FFFF)
        try Self.runAsGuest(noMachineBit, [rdcycle])
        #expect(noMachineBit.readCSR(CSR.mcause) == Cause.illegal)
        let allowed = try Self.machine(engine)
        allowed.writeCSR(CSR.hcounteren, 1)
        try Self.runAsGuest(allowed, [rdcycle, nop])
        #expect(allowed.pc == ramBase + 8)
    }

    @Test("a V=1 translation is never used at V=0, nor the reverse", arguments: engines)
    func translationsKeyedByV(_ engine: ExecutionEngineKind) throws {
        let machine = try Self.machine(engine)
        machine.writeCSR(CSR.satp, 0x8000_0000 | Self.hsRoot >> 12)
        // HS-mode: VA 0x40000000 is pageA. Then SRET with hstatus.SPV into VS-mode, where the
        // same VA is pageC; ECALL back to M.
        machine.writeCSR(CSR.hstatus, 1 << 7)           // SPV
        machine.writeCSR(CSR.sstatus, 1 << 8)           // SPP = S
        machine.writeCSR(CSR.sepc, ramBase + 16)
        machine.privilege = .supervisor
        try machine.run([Instruction(.lui, rd: x(5), immediate: 0x4000_0000), Instruction(.lw, rd: x(6), rs1: x(5)),
                         nop, sret, Instruction(.lw, rd: x(7), rs1: x(5)), ecall], steps: 6)
        #expect(machine.register(x(6)) == Self.magicA)
        #expect(machine.register(x(7)) == Self.magicC)
        #expect(machine.readCSR(CSR.mcause) == 10, "ECALL from VS-mode")
        // Back at V=0 in HS-mode: pageA again (the TLB holds both).
        machine.privilege = .supervisor
        machine.virtualizationMode = false
        try machine.run([Instruction(.lw, rd: x(8), rs1: x(5))], at: ramBase + 0x100)
        #expect(machine.register(x(8)) == Self.magicA)
    }

    @Test("interceptGuestTraps: a guest trap bound for HS-mode stops the run, the hart untouched", arguments: engines)
    func interceptedGuestPageFault(_ engine: ExecutionEngineKind) throws {
        let machine = try Self.machine(engine, interceptGuestTraps: true)
        machine.writeCSR(CSR.medeleg, 1 << 21 | 1 << 10)
        let program = [Instruction(.lui, rd: x(5), immediate: 0x4000_1000), Instruction(.lw, rd: x(6), rs1: x(5), immediate: 8)]
        let stop = try Self.runAsGuest(machine, program, steps: 10)
        #expect(stop == .userTrap(Trap(cause: 21, value: 0x4000_1008, pc: ramBase + 4, fromGuest: true, htval: 0x5000_0008 >> 2)))
        if case .userTrap(let trap) = stop { #expect(trap.guestPhysicalAddress == 0x5000_0008) }
        #expect(machine.pc == ramBase + 4)
        #expect(machine.virtualizationMode && machine.privilege == .supervisor)
        #expect(machine.readCSR(CSR.scause) == 0 && machine.readCSR(CSR.htval) == 0 && machine.readCSR(CSR.hstatus) == 0)
        // An ECALL from VS-mode: the VMM's firmware-call exit.
        let call = try Self.machine(engine, interceptGuestTraps: true)
        call.writeCSR(CSR.medeleg, 1 << 10)
        let callStop = try Self.runAsGuest(call, [nop, ecall], steps: 5)
        #expect(callStop == .userTrap(Trap(cause: 10, value: 0, pc: ramBase + 4, fromGuest: true)))
        // Not delegated by medeleg: the trap goes to M-mode as usual, no exit.
        let toMachine = try Self.machine(engine, interceptGuestTraps: true)
        #expect(try Self.runAsGuest(toMachine, [ecall], steps: 3) == .instructionLimit)
        #expect(toMachine.readCSR(CSR.mcause) == 10 && toMachine.pc == handlerAddress)
    }

    static let gnuPresent = ["as", "objcopy", "objdump"].allSatisfy {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/riscv64-unknown-elf-\($0)")
    }

    /// The assembler's HFENCE.VVMA/GVMA, HLV/HLVX/HSV and hypervisor CSR names give GNU as's bytes; the
    /// disassembler names the CSRs as objdump does. (It prints the HFENCE words as `.4byte`, as
    /// objdump does for an ELF without H: the project's decoder is RV32IMA + privileged.)
    @Test("HFENCE and H CSR names: assembler bytes = GNU as, CSR names = GNU objdump",
          .enabled(if: gnuPresent, "needs riscv64-unknown-elf-as/objcopy/objdump"))
    func hypervisorInstructionsMatchGNU() throws {
        let source = """
            hfence.vvma a0, a1
            hfence.vvma a0
            hfence.vvma
            hfence.gvma zero, a2
            hfence.gvma a3
            csrr a0, hgatp
            csrw vsatp, a1
            csrs hstatus, t0
            csrr t1, vsstatus
            csrw hvip, zero
            hlv.b a0, (a1)
            hlv.bu t0, (t1)
            hlv.h a2, (a3)
            hlv.hu a4, (a5)
            hlvx.hu s0, (s1)
            hlv.w t2, (sp)
            hlvx.wu ra, (gp)
            hsv.b a0, (a1)
            hsv.h t0, (t1)
            hsv.w s2, (s3)

            """
        let ours = try Assembler.assemble(source: source, fileName: "h.S").section(named: ".text")?.bytes ?? []
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vlab-hasm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("h").path
        try source.write(toFile: path + ".S", atomically: true, encoding: .utf8)
        _ = try QEMUComparisonTests.runTool("/usr/bin/riscv64-unknown-elf-as", ["-march=rv32i_zicsr_h", "-o", path + ".o", path + ".S"])
        _ = try QEMUComparisonTests.runTool("/usr/bin/riscv64-unknown-elf-objcopy", ["-O", "binary", "-j", ".text", path + ".o", path + ".bin"])
        let gnu = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + ".bin")))
        #expect(ours == gnu)
        let listing = String(decoding: try QEMUComparisonTests.runTool("/usr/bin/riscv64-unknown-elf-objdump", ["-d", path + ".o"]).output, as: UTF8.self)
        let gnuLines = listing.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: "\t", maxSplits: 2)
            return fields.count == 3 ? fields[2].trimmingCharacters(in: .whitespaces) : nil
        }
        let disassembler = Disassembler()
        let ourLines = stride(from: 0, to: gnu.count, by: 4).map { i -> String in
            let word = UInt32(gnu[i]) | UInt32(gnu[i + 1]) << 8 | UInt32(gnu[i + 2]) << 16 | UInt32(gnu[i + 3]) << 24
            return disassembler.format(Instruction.decode(word), at: UInt32(i))
        }
        // The CSR lines: after the 5 HFENCEs, before the 10 HLV/HSVs (printed as words too).
        let hfenceCount = 5, virtualMachineAccesses = 10
        #expect(Array(ourLines.dropFirst(hfenceCount).dropLast(virtualMachineAccesses)) == Array(gnuLines.dropFirst(hfenceCount).dropLast(virtualMachineAccesses)), "ours: \(ourLines)\nGNU: \(gnuLines)")
    }
}
