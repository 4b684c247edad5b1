import Foundation
import Hypervisor
import HypervisorCore
import Machine
import MemoryVirtualization
import RISCV
import Testing

/// Ballooning: kernel-pv.elf's balloon driver gives frames back when Dom0 raises its target and
/// asks for them again when it drops, while the guest keeps running and prints what it prints alone.
@Suite("Ballooning")
struct BalloonTests {
    static let limit: UInt64 = 50_000_000

    @Test("a balloon target takes frames from a running guest, which still prints exactly what it prints alone")
    func inflate() throws {
        let image = try OvercommitSupport.image("kernel-pv.elf")
        let alone = try BareMetal.run(image, maxInstructions: Self.limit)
        let dom0 = try OvercommitSupport.dom0(domains: 1, memorySize: 4 << 20)
        let id = try dom0.create(image: image, memorySize: 4 << 20, instructionBudget: Self.limit, mode: ParavirtualMode())
        let domain = try #require(dom0.domain(id))
        let framesBefore = domain.vm.memory.machineFrames
        let freeBefore = dom0.frames.freeFrames
        try dom0.setBalloonTarget(id, frames: 300)
        dom0.unpauseAll()
        dom0.run()

        #expect(domain.state == .exited(code: 0))
        #expect(dom0.consoleTranscript(id) == alone.console, "\(String(decoding: dom0.consoleTranscript(id), as: UTF8.self))")
        #expect(domain.balloon.hasDriver && domain.balloon.size == 300 && domain.balloon.refusals == 0)
        #expect(domain.vm.memory.presentFrames == 1024 - 300)
        #expect(dom0.frames.freeFrames == freeBefore + 300)
        #expect(dom0.memoryReport().framesBallooned == 300 && dom0.memoryReport().framesUsed == 1024 - 300)
        // The frames went back to the pool scrubbed, and the guest can no longer reach them.
        for frame in domain.balloon.frames {
            #expect(domain.vm.memory.access(frame: frame) == .absent)
            #expect(domain.vm.memory.read(GuestMemory.guestPhysical(ofFrame: frame), count: 4) == nil)
            #expect(dom0.frames.isFree(framesBefore[frame]) && OvercommitSupport.isZero(dom0.machine, framesBefore[frame]))
        }
    }

    @Test("lowering the target makes the driver ask for frames again; the guest keeps running")
    func deflate() throws {
        let image = try OvercommitSupport.image("kernel-pv.elf")
        let alone = try BareMetal.run(image, maxInstructions: Self.limit)
        let dom0 = try OvercommitSupport.dom0(domains: 1, memorySize: 4 << 20)
        let id = try dom0.create(image: image, memorySize: 4 << 20, instructionBudget: Self.limit, mode: ParavirtualMode())
        let domain = try #require(dom0.domain(id))
        try dom0.setBalloonTarget(id, frames: 400)
        dom0.unpauseAll()
        var slices = 0
        while domain.balloon.size < 400, slices < 100, dom0.runSlice() { slices += 1 }
        #expect(domain.balloon.size == 400 && domain.state == .runnable, "inflated while the guest still runs")
        try dom0.setBalloonTarget(id, frames: 100)
        dom0.run()
        #expect(domain.state == .exited(code: 0))
        #expect(dom0.consoleTranscript(id) == alone.console)
        #expect(domain.balloon.size == 100 && domain.vm.memory.presentFrames == 1024 - 100)
        #expect(throws: HypervisorError.self) { try dom0.setBalloonTarget(id, frames: 5000) }
    }

    @Test("bad balloon calls get error codes and change nothing")
    func badCalls() throws {
        let machine = try Machine(configuration: { var c = MachineConfiguration(); c.ramSize = 32 * 4096; return c }())
        let pool = MachineFramePool(machine: machine, ramSize: 32 * 4096)
        let sharing = PageSharing(pool: pool)
        let memory = GuestMemory(machine: machine, machineFrames: try pool.take(16, for: "guest"))
        sharing.register(memory, name: "guest")
        let balloon = Balloon(name: "guest", memory: memory, sharing: sharing)
        let page = GuestMemory.guestPhysical(ofFrame: 5)
        #expect(memory.write32(page, 0x1234_5678))
        #expect(balloon.serve(BalloonABI.register, 0x8000_0002) == BalloonABI.errorInvalidAddress)
        #expect(balloon.serve(BalloonABI.register, 0x7FFF_FFFC) == BalloonABI.errorInvalidAddress)
        #expect(balloon.serve(BalloonABI.register, 0x8000_0100) == 16, "returns the guest's RAM in frames")
        #expect(balloon.serve(BalloonABI.give, page + 4) == BalloonABI.errorInvalidAddress, "misaligned")
        #expect(balloon.serve(BalloonABI.give, 0x9000_0000) == BalloonABI.errorInvalidAddress, "outside RAM")
        #expect(balloon.serve(BalloonABI.take, page) == BalloonABI.errorInvalidParameter, "not given back")
        #expect(balloon.serve(0x19, 0) == BalloonABI.errorNotSupported)
        #expect(memory.presentFrames == 16 && balloon.refusals == 6)

        let machineFrame = memory.machineFrames[5]
        #expect(balloon.serve(BalloonABI.give, page) == 0)
        #expect(balloon.serve(BalloonABI.give, page) == BalloonABI.errorInvalidParameter, "given twice")
        #expect(memory.read32(page) == nil && !memory.write32(page, 1))
        #expect(pool.isFree(machineFrame) && OvercommitSupport.isZero(machine, machineFrame), "scrubbed before reuse")
        // Asking it back with no free frame is refused; the frame stays absent.
        let hoard = try pool.take(pool.freeFrames, for: "hoard")
        #expect(balloon.serve(BalloonABI.take, page) == BalloonABI.errorFailed)
        #expect(memory.access(frame: 5) == .absent)
        pool.give(hoard)
        #expect(balloon.serve(BalloonABI.take, page) == 0)
        #expect(memory.read32(page) == 0, "a frame returned holds nothing of anyone's")
        #expect(balloon.size == 0)
    }

    @Test("the Swift balloon numbers are balloon.h's")
    func numbersMatchTheHeader() throws {
        let header = try String(contentsOf: OvercommitSupport.kernelFolder.appendingPathComponent("balloon.h"), encoding: .utf8)
        var defines: [String: Int] = [:]
        for line in header.split(separator: "\n") where line.hasPrefix("#define BALLOON_") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ")" })
            guard fields.count >= 3 else { continue }
            let text = String(fields[2])
            defines[String(fields[1])] = text.hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
        }
        #expect(defines == ["BALLOON_REGISTER": Int(BalloonABI.register), "BALLOON_GIVE": Int(BalloonABI.give),
                            "BALLOON_TAKE": Int(BalloonABI.take), "BALLOON_ERR_FAILED": Int(BalloonABI.errorFailed)])
    }

    @Test("without a VMM balloon (bare, or the paravirtual mode alone) the driver stays off and the output is kernel.elf's")
    func driverOffElsewhere() throws {
        let native = try BareMetal.run(try OvercommitSupport.image("kernel.elf"), maxInstructions: Self.limit)
        let pv = try BareMetal.run(try OvercommitSupport.image("kernel-pv.elf"), maxInstructions: Self.limit)
        #expect(pv.exitCode == 0 && pv.console == native.console)
    }

    @Test("a guest cannot reach a frame it gave back, though another domain now owns it: the access faults")
    func givenBackIsUnreachable() throws {
        // Reads a word of the page at 0x80010000, then exits 0; a fault exits with its mcause instead.
        let source = """
        _start:
            la t0, handler
            csrw mtvec, t0
            li t1, 0x80010000
            lw a0, 0(t1)
            li t2, 0x100000
            li t3, 0x5555
            sw t3, 0(t2)
        1:  j 1b
        handler:
            csrr t4, mcause
            slli t4, t4, 16
            li t5, 0x3333
            or t4, t4, t5
            li t2, 0x100000
            sw t4, 0(t2)
        2:  j 2b
        """
        let image = try ELFFile(bytes: try Assembler.assemble(source: source, fileName: "reader.S", base: 0x8000_0000).elfExecutable())
        #expect(try BareMetal.run(image, maxInstructions: 10_000).exitCode == 0)
        let dom0 = try OvercommitSupport.dom0(domains: 2, memorySize: 1 << 20)
        let reader = try dom0.create(image: image, memorySize: 1 << 20, instructionBudget: 100_000)
        let domain = try #require(dom0.domain(reader))
        let frame = try #require(domain.vm.memory.machineFrame(ofFrame: 0x10))
        #expect(domain.balloon.serve(BalloonABI.give, 0x8001_0000) == 0)
        let owner = try dom0.create(image: image, memorySize: 1 << 20)
        let ownerVM = try #require(dom0.domain(owner)?.vm)
        #expect(ownerVM.memory.machineFrames.contains(frame) || ownerVM.shadowFrames.owns(frame), "the frame has a new owner")
        try dom0.unpause(reader)
        dom0.run()
        #expect(domain.state == .exited(code: 5), "a load access fault, as the bare machine raises where no RAM is")
        #expect(domain.vm.vcpu.registers[10] == 0)
    }

    @Test("ballooning and sharing together: shared frames given back leave their sharers intact, and no frame leaks")
    func balloonWithSharing() throws {
        let image = try OvercommitSupport.image("kernel-pv.elf")
        let alone = try BareMetal.run(image, maxInstructions: Self.limit)
        let dom0 = try OvercommitSupport.dom0(domains: 2, memorySize: 2 << 20)
        let ids = try (0..<2).map { _ in
            try dom0.create(image: image, memorySize: 2 << 20, instructionBudget: Self.limit, mode: ParavirtualMode())
        }
        func conserved() -> Bool {
            let report = dom0.memoryReport()
            return report.freeFrames + report.framesUsed + report.shadowFrames == report.machineFrames
        }
        dom0.sharePages()
        #expect(dom0.memoryReport().framesSaved > 500 && conserved())
        for id in ids { try dom0.setBalloonTarget(id, frames: 200) }
        dom0.unpauseAll()
        var slices = 0
        while dom0.runSlice() {
            slices += 1
            if slices % 10 == 0 { dom0.sharePages() }
        }
        for id in ids {
            let domain = try #require(dom0.domain(id))
            #expect(domain.state == .exited(code: 0) && dom0.consoleTranscript(id) == alone.console)
            #expect(domain.balloon.size == 200 && domain.vm.memory.presentFrames == 512 - 200)
        }
        let report = dom0.memoryReport()
        #expect(report.framesBallooned == 400 && report.framesSaved > 0, "\(report)")
        #expect(conserved(), "every machine frame is free, backs guest memory, or holds shadow tables: \(report)")
        try dom0.destroy(ids[0])
        try dom0.destroy(ids[1])
        #expect(dom0.frames.freeFrames == dom0.frames.totalFrames, "destroying both gives every frame back")
    }
}
