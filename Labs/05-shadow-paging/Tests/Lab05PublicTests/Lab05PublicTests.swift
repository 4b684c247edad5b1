import Foundation
import Hypervisor
import HypervisorCore
import Lab05
import Machine
import RISCV
import Testing

// The public tests of Lab 05. Run them with `vlab test 05`
// (or `VLAB_LAB=05 swift test --filter Lab05PublicTests`).
//
// Each test runs a guest twice: on the bare machine and under the VMM with your
// CachingShadowPager, in lock-step (HypervisorCore's TranslationAudit). Every time the hart
// uses a shadow entry of yours for the first time (fills its TLB from your table), the audit asks
// the bare machine how it translates the same page for the same access at the same instruction,
// and compares. The console output, the exit and the number of guest instructions must be the
// bare machine's too.

/// A guest run under your pager (or `pager`), audited against the bare machine.
final class AuditedRun {
    let name: String
    let vm: VirtualMachine
    var pager: any ShadowPager { vm.pager }
    private(set) var report: TranslationAudit.Report?
    private let image: ELFFile
    private let console = Console()
    private final class Console { var bytes: [UInt8] = [] }

    init(_ name: String, image: ELFFile, memory: UInt32, pager factory: @escaping ShadowPagerFactory = CachingShadowPager.factory) throws {
        self.name = name
        self.image = image
        var configuration = GuestConfiguration()
        configuration.name = name
        configuration.memorySize = memory
        var machine = MachineConfiguration()
        machine.engine = .interpreter
        let console = self.console
        vm = try VirtualMachine.hostingOne(configuration, image: image, machine: machine,
                                           console: ConsoleIO(write: { console.bytes.append($0) }),
                                           handler: PrivilegedInstructionEmulator(), pager: factory)
    }

    func run(maxInstructions: UInt64) throws {
        report = try TranslationAudit(image: image, guest: TranslationAudit.Guest(vm)).run(maxInstructions: maxInstructions)
    }

    var output: String { String(decoding: console.bytes, as: UTF8.self) }
    var statistics: ShadowStatistics { pager.statistics }
    /// Shadow misses the VMM filled for your pager, as the VMM counted them.
    var pageFaultExits: UInt64 { vm.statistics[.pageFault] }
    var todo: String {
        guard let pager = pager as? CachingShadowPager, let summary = pager.unfinished.summary else { return "" }
        return "\n\nYour pager reached these TODOs:\n\(summary)"
    }

    /// Records every difference from the bare machine as a test failure.
    func expectSameAsBare(sourceLocation: SourceLocation = #_sourceLocation) {
        guard let report else {
            Issue.record("\(name): never ran", sourceLocation: sourceLocation)
            return
        }
        if let mismatch = report.mismatch { Issue.record(Comment(rawValue: "\(name): \(mismatch)\(todo)"), sourceLocation: sourceLocation) }
        if let lost = report.lockStepLost {
            Issue.record(Comment(rawValue: "\(name): the run stopped matching the bare machine: \(lost)\(todo)"), sourceLocation: sourceLocation)
        }
        #expect(report.guestResult == GuestRunResult.exited(code: 0), "\(name): the guest ended with \(report.guestResult.map { "\($0)" } ?? "no result")\(todo)",
                sourceLocation: sourceLocation)
        #expect(console.bytes == report.bareConsole,
                "\(name): the console differs:\n--- under the VMM:\n\(output)\n--- bare:\n\(String(decoding: report.bareConsole, as: UTF8.self))\(todo)",
                sourceLocation: sourceLocation)
        #expect(report.guestInstructions == report.bareInstructions, sourceLocation: sourceLocation)
    }
}

/// A small S-mode kernel with two address spaces (ASIDs 1 and 2) that each map virtual page
/// 0x400000 to a different frame. It switches between them 20 times, the way a kernel without
/// ASIDs does (`csrw satp` then `sfence.vma`), loading and storing through the page; then it
/// remaps B's page to a third frame and fences that one address. It prints what it loads.
let twoSpaces = """
        .equ UART, 0x10000000
    _start:
        la t0, machine_trap
        csrw mtvec, t0
        li t0, 0xB1FF
        csrw medeleg, t0
        # Both roots: the kernel megapage at 0x80000000 (RWX, A, D), the UART's at 0x10000000,
        # and a pointer to the space's second-level table for 0x00400000..
        la a0, root_a
        la a1, second_a
        la a2, page_x
        call build
        la a0, root_b
        la a1, second_b
        la a2, page_y
        call build
        li t0, 0x1800
        csrc mstatus, t0
        li t0, 0x800
        csrs mstatus, t0
        la t0, supervisor
        csrw mepc, t0
        mret

    # build(root, second, page): the two megapages, the pointer, and 0x400000 -> page (U R W A D).
    build:
        li t0, 0x200000cf
        li t1, 2048
        add t1, a0, t1
        sw t0, 0(t1)            # root[0x200]: 0x80000000, RWX A D
        li t0, 0x040000c7
        sw t0, 256(a0)          # root[0x40]: 0x10000000, RW A D
        srli t0, a1, 12
        slli t0, t0, 10
        ori t0, t0, 1
        sw t0, 4(a0)            # root[1]: pointer to second
        srli t0, a2, 12
        slli t0, t0, 10
        ori t0, t0, 0xd7
        sw t0, 0(a1)            # second[0]: page, U R W A D
        ret

    machine_trap:               # ECALL from S: stop with status a0
        li t0, 0x100000
        li t1, 0x5555
        sw t1, 0(t0)
    halt:
        j halt

    supervisor:
        li s0, 20
        li s1, 0x400000
        li t0, 0x40000
        csrs sstatus, t0        # SUM: the kernel reads the user pages
    loop:
        la t0, root_a
        srli t0, t0, 12
        li t1, 0x80400000       # Sv32, ASID 1
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        lw a0, 0(s1)
        call putc
        lw t0, 4(s1)
        addi t0, t0, 1
        sw t0, 4(s1)
        la t0, root_b
        srli t0, t0, 12
        li t1, 0x80800000       # Sv32, ASID 2
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        lw a0, 0(s1)
        call putc
        lw t0, 4(s1)
        addi t0, t0, 2
        sw t0, 4(s1)
        addi s0, s0, -1
        bnez s0, loop
        li a0, 10
        call putc
        # Remap B's page (B is running) to page_z, and fence that address in ASID 2.
        la t0, second_b
        la t1, page_z
        srli t1, t1, 12
        slli t1, t1, 10
        ori t1, t1, 0xd7
        sw t1, 0(t0)
        li t2, 2
        sfence.vma s1, t2
        lw a0, 0(s1)
        call putc
        # The counters: A's and B's pages, read through the kernel's own mapping.
        la t0, page_x
        lw a0, 4(t0)
        addi a0, a0, 97
        call putc
        la t0, page_y
        lw a0, 4(t0)
        srli a0, a0, 1
        addi a0, a0, 97
        call putc
        li a0, 10
        call putc
        li a0, 0
        ecall

    putc:
        li t0, UART
        sb a0, 0(t0)
        ret

        .data
        .balign 4096
    root_a:   .space 4096
    root_b:   .space 4096
    second_a: .space 4096
    second_b: .space 4096
    page_x:   .word 88
        .balign 4096
    page_y:   .word 89
        .balign 4096
    page_z:   .word 90
        .balign 4096
    """

func assembled(_ name: String, _ source: String) throws -> ELFFile {
    let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000)
    return try ELFFile(bytes: program.elfExecutable())
}

@Suite struct TwoAddressSpaces {
    /// Every translation and every printed byte as on the bare machine.
    @Test func sameAsBare() throws {
        let run = try AuditedRun("two-spaces.S", image: try assembled("two-spaces.S", twoSpaces), memory: 1 << 20)
        try run.run(maxInstructions: 1_000_000)
        run.expectSameAsBare()
        #expect(run.output == String(repeating: "XY", count: 20) + "\nZuu\n")
    }

    /// Your shadow tables survive `csrw satp` + `sfence.vma`: the same guest under a pager that
    /// throws every table away at each of them (HypervisorCore's FlushingShadowPager) takes many
    /// times more page-fault exits (the VMM counts them, whatever your `statistics` say).
    @Test func tablesSurviveSwitches() throws {
        let yours = try AuditedRun("two-spaces.S", image: try assembled("two-spaces.S", twoSpaces), memory: 1 << 20)
        try yours.run(maxInstructions: 1_000_000)
        yours.expectSameAsBare()
        let flushing = try AuditedRun("two-spaces.S", image: try assembled("two-spaces.S", twoSpaces), memory: 1 << 20,
                                      pager: FlushingShadowPager.factory)
        try flushing.run(maxInstructions: 1_000_000)
        #expect(yours.pageFaultExits * 3 < flushing.pageFaultExits,
                "your pager took \(yours.pageFaultExits) page-fault exits, one that drops everything at every switch \(flushing.pageFaultExits)\(yours.todo)")
        #expect(yours.statistics.addressSpaces >= 2)
    }
}

@Suite struct TeachingKernel {
    /// The shipped teaching kernel (`vlab boot`): M-mode firmware, S-mode kernel with Sv32, four
    /// user processes and a timer-driven scheduler.
    @Test func sameAsBare() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("Sources/VLabCLI/Guests/kernel/kernel.elf")
        let image = try ELFFile(bytes: Array(try Data(contentsOf: path)))
        let run = try AuditedRun("kernel.elf", image: image, memory: 64 << 20)
        try run.run(maxInstructions: 5_000_000)
        run.expectSameAsBare()
        #expect(run.output.contains("shutting down"))
        // Its scheduler switches satp between four processes: a cache keeps each process's
        // shadow table, so it takes far fewer page-fault exits than a pager that drops them all.
        let flushing = try AuditedRun("kernel.elf", image: image, memory: 64 << 20, pager: FlushingShadowPager.factory)
        _ = flushing.vm.run(maxInstructions: 5_000_000)
        #expect(run.pageFaultExits * 10 <= flushing.pageFaultExits * 9,
                "your pager took \(run.pageFaultExits) page-fault exits, one that drops every table at every switch \(flushing.pageFaultExits)\(run.todo)")
    }
}
