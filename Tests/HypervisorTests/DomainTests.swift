import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// Several guests on one hart under Dom0: each behaves exactly as alone, none can reach another's
/// memory or devices, and one that crashes or loops does not stop the others.
@Suite("Domains")
struct DomainTests {
    final class Output {
        var bytes: [UInt8] = []
        var console: ConsoleIO { ConsoleIO(write: { [self] in bytes.append($0) }) }
        var lines: [String] { String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init) }
    }

    static func small() -> Dom0.Configuration {
        var configuration = Dom0.Configuration()
        configuration.machineMemory = 64 << 20
        configuration.sliceInstructions = 5_000
        return configuration
    }

    @Test("three kernels on one hart: each prints what it prints alone, lines tagged", arguments: ExecutionEngineKind.allCases)
    func threeKernels(_ engine: ExecutionEngineKind) throws {
        let image = try TestFiles.kernelImage()
        let bare = try BareMetal.run(image, engine: engine, maxInstructions: 50_000_000)
        var configuration = Self.small()
        configuration.engine = engine
        let output = Output()
        let dom0 = try Dom0(configuration: configuration, output: output.console)
        let ids = try (0..<3).map { _ in try dom0.create(image: image, memorySize: 16 << 20, instructionBudget: 50_000_000) }
        dom0.unpauseAll()
        dom0.run()
        for id in ids {
            let info = try #require(dom0.list().first { $0.id == id })
            #expect(info.state == .exited(code: 0))
            #expect(info.instructions == bare.instructions)
            #expect(dom0.consoleTranscript(id) == bare.console)
            let tagged = output.lines.filter { $0.hasPrefix("[\(id)] ") }.map { String($0.dropFirst("[\(id)] ".count)) }
            #expect(tagged.joined(separator: "\n") + "\n" == String(decoding: bare.console, as: UTF8.self))
        }
        // The consoles really were interleaved: the second line of the output is not dom1's second line.
        #expect(Set(output.lines.prefix(6).map { $0.prefix(6) }).count > 1)
    }

    @Test("a crashing and a looping domain stop alone; the kernel beside them finishes first")
    func crashAndLoop() throws {
        let kernel = try TestFiles.kernelImage()
        let garbage = try CSREmulationTests.assemble(".word 0xffffffff\n")
        // Interrupts off, no yield: only the VMM's slice end can take the hart back.
        let loop = try CSREmulationTests.assemble("csrci mstatus, 8\nloop: j loop\n")
        let dom0 = try Dom0(configuration: Self.small(), output: .silent)
        let good = try dom0.create(image: kernel, name: "good", memorySize: 16 << 20)
        let crash = try dom0.create(image: garbage, name: "crash", memorySize: 1 << 20)
        let spin = try dom0.create(image: loop, name: "spin", memorySize: 1 << 20, instructionBudget: 20_000_000)
        dom0.unpauseAll()
        while dom0.domain(good)?.state == .runnable { dom0.runSlice() }
        #expect(dom0.domain(good)?.state == .exited(code: 0))
        #expect(dom0.domain(spin)?.state == .runnable, "the loop is still running when the kernel is done")
        guard case .faulted(let crashFault) = dom0.domain(crash)?.state else {
            Issue.record("the garbage domain was not stopped: \(String(describing: dom0.domain(crash)?.state))")
            return
        }
        #expect(crashFault.domain == "crash")
        #expect(crashFault.cause.contains("trap loop"))
        dom0.run()
        guard case .faulted(let spinFault) = dom0.domain(spin)?.state else {
            Issue.record("the looping domain did not stop at its budget")
            return
        }
        #expect(spinFault.description.contains("spin: guest fault at pc 0x80000004"))
        #expect(spinFault.cause.contains("instruction budget"))
    }

    @Test("a domain cannot read or write another domain's memory or devices")
    func isolation() throws {
        let writer = try CSREmulationTests.assemble("""
            li t0, 0x80001000
            li t1, 0xc0ffee
            sw t1, 0(t0)
            li t0, 0x100000
            li t1, 0x5555
            sw t1, 0(t0)
            """)
        // The reader looks at the same guest-physical address (its own frame), then just past its
        // 1 MiB allotment (where, in machine memory, the next domain's frames lie), recording the
        // trap; it also reprograms "the" timer and prints on "the" UART: its own emulated ones.
        let reader = try CSREmulationTests.assemble("""
                la t0, trap
                csrw mtvec, t0
                li t0, 0x80001000
                lw s0, 0(t0)
                li t0, 0x80100000
                li s1, 0x1234
                lw s1, 0(t0)
                sw s1, 0(t0)
                li t0, 0x2004000
                sw zero, 0(t0)
                sw zero, 4(t0)
                li t0, 0x10000000
                li t1, 0x42
                sb t1, 0(t0)
                li t1, 10
                sb t1, 0(t0)
                li t0, 0x100000
                li t1, 0x5555
                sw t1, 0(t0)
            trap:
                csrr t1, mcause
                add s2, s2, t1
                csrr t1, mepc
                addi t1, t1, 4
                csrw mepc, t1
                mret
            """)
        let output = Output()
        let dom0 = try Dom0(configuration: Self.small(), output: output.console)
        let a = try dom0.create(image: writer, name: "a", memorySize: 1 << 20)
        let b = try dom0.create(image: reader, name: "b", memorySize: 1 << 20)
        let c = try dom0.create(image: writer, name: "c", memorySize: 1 << 20)
        dom0.unpauseAll()
        dom0.run()
        for id in [a, b, c] { #expect(dom0.domain(id)?.state == .exited(code: 0)) }
        let readerCPU = try #require(dom0.domain(b)?.vm.vcpu)
        #expect(readerCPU.register(8) == 0, "b's own frame, not a's secret")
        #expect(readerCPU.register(9) == 0x1234, "the load past b's memory did not complete")
        #expect(readerCPU.register(18) == 5 + 7, "a load access fault and a store access fault")
        #expect(dom0.domain(a)?.vm.memory.read32(0x8000_1000) == 0xC0FFEE)
        #expect(dom0.domain(c)?.vm.memory.read32(0x8000_1000) == 0xC0FFEE)
        #expect(dom0.domain(c)?.vm.memory.read32(0x8000_0000) != 0, "c's first frame still holds its code")
        #expect(output.lines == ["[b] B"], "only b printed, and on its own console")
        #expect(dom0.domain(a)?.vm.vcpu.timer.mtimecmp == .max, "b's timer write reached only b's CLINT")
    }

    @Test("Dom0 pauses, unpauses and destroys; destroyed frames come back scrubbed; over-asking is an error")
    func controlInterface() throws {
        let image = try TestFiles.kernelImage()
        let bare = try BareMetal.run(image, maxInstructions: 50_000_000)
        var configuration = Self.small()
        configuration.machineMemory = (2 * 16 << 20) + 2 * configuration.shadowFramesPerDomain * 4096
        let dom0 = try Dom0(configuration: configuration, output: .silent)
        let one = try dom0.create(image: image, memorySize: 16 << 20)
        let two = try dom0.create(image: image, memorySize: 16 << 20)
        #expect(dom0.list().map(\.state) == [.paused, .paused])
        #expect(throws: HypervisorError.self) { try dom0.create(image: image, memorySize: 4 << 20) }
        dom0.unpauseAll()
        dom0.run(maxSlices: 20)
        try dom0.pause(two)
        let frozen = try #require(dom0.domain(two)?.vm.vcpu.retired)
        dom0.run()
        #expect(dom0.domain(one)?.state == .exited(code: 0))
        #expect(dom0.domain(two)?.vm.vcpu.retired == frozen, "a paused domain does not run")
        #expect(throws: HypervisorError.self) { try dom0.pause(two) }
        try dom0.unpause(two)
        dom0.run()
        #expect(dom0.domain(two)?.state == .exited(code: 0))
        #expect(dom0.consoleTranscript(two) == bare.console, "pausing is invisible to the guest")
        // Destroy one; a new domain gets its frames, zeroed: nothing of the old kernel's data is left.
        let oldFrames = try #require(dom0.domain(one)?.vm.memory.machineFrames)
        try dom0.destroy(one)
        #expect(dom0.list().map(\.id) == [two])
        #expect(throws: HypervisorError.self) { try dom0.destroy(one) }
        let empty = try CSREmulationTests.assemble("j .\n")
        let three = try dom0.create(image: empty, memorySize: 16 << 20)
        let newMemory = try #require(dom0.domain(three)?.vm.memory)
        #expect(Set(newMemory.machineFrames) == Set(oldFrames))
        let leftovers = stride(from: UInt32(0x8000_1000), to: 0x8010_0000, by: 4096).filter { (newMemory.read(UInt32($0), count: 4096) ?? []).contains { $0 != 0 } }
        #expect(leftovers.isEmpty, "pages holding old data: \(leftovers.prefix(4).map { hex8($0) })")
    }

    @Test("the credit scheduler shares the hart by weight; round robin equally")
    func schedulers() throws {
        let loop = try CSREmulationTests.assemble("loop: j loop\n")
        for (scheduler, weights, expected) in [(CreditScheduler(periodPerDomain: 20_000) as any VCPUScheduler, [1, 3], 3.0),
                                               (RoundRobinScheduler(), [1, 3], 1.0)] {
            let dom0 = try Dom0(configuration: Self.small(), scheduler: scheduler, output: .silent)
            let ids = try weights.map { try dom0.create(image: loop, memorySize: 1 << 20, weight: $0) }
            dom0.unpauseAll()
            dom0.run(maxSlices: 200)
            let light = try #require(dom0.domain(ids[0])?.vm.vcpu.retired)
            let heavy = try #require(dom0.domain(ids[1])?.vm.vcpu.retired)
            let ratio = Double(heavy) / Double(light)
            #expect(abs(ratio - expected) < 0.15 * expected, "\(type(of: scheduler)): shares \(light) and \(heavy)")
        }
    }
}
