import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// SCHEDOP_block and SCHEDOP_yield: a hypercall that ends the slice, and Dom0 leaving a blocked
/// domain out until an event is pending for it or its timer is due on the hart's clock.
@Suite("SchedOp")
struct SchedOpTests {
    /// A small hypercall interface for the test guests (numbers in a7, from any virtual privilege).
    final class Calls: HypercallHandler {
        static let block: UInt32 = 0x20, yield: UInt32 = 0x21, send: UInt32 = 0x22, exit: UInt32 = 0x23, timer: UInt32 = 0x24
        let name: String
        /// What `send` does (the test makes it raise another domain's event).
        var onSend: () -> Void = {}
        /// Shared by all domains: who exited in which order.
        let log: Log

        final class Log { var exits: [String] = [] }

        init(name: String, log: Log) {
            self.name = name
            self.log = log
        }

        func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome? {
            let number = vcpu.register(17)
            guard (Self.block...Self.timer).contains(number) else { return nil }
            vcpu.pc &+= 4
            switch number {
            case Self.block: return .block
            case Self.yield: return .yield
            case Self.send: onSend()
            case Self.exit:
                log.exits.append(name)
                platform.devices.requestExit(code: Int32(bitPattern: vcpu.register(10)))
            default:   // timer: a0 ticks from now
                vcpu.timer.mtimecmp = vcpu.mtime + UInt64(vcpu.register(10))
                vcpu.csrs.mie |= InterruptBits.machineTimer
            }
            return .completed
        }
    }

    static let exit = "li a7, 0x23\nli a0, 0\necall\n"
    /// Enables the event interrupt (SEIE) only: interrupts stay globally off, so a wake-up just
    /// returns from the block hypercall, as from WFI.
    static let waiter = try! CSREmulationTests.assemble("li t0, 0x200\ncsrs mie, t0\nli a7, 0x20\necall\n" + exit)
    /// Computes for a while, then raises the event (`send`) and exits.
    static let sender = try! CSREmulationTests.assemble("li t1, 30000\n1: addi t1, t1, -1\nbnez t1, 1b\nli a7, 0x22\necall\n" + exit)

    func dom0(slice: UInt64 = 5_000) throws -> Dom0 {
        var configuration = Dom0.Configuration()
        configuration.machineMemory = 16 << 20
        configuration.shadowFramesPerDomain = 16
        configuration.sliceInstructions = slice
        return try Dom0(configuration: configuration, output: .silent)
    }

    func install(_ dom0: Dom0, _ id: DomainID, log: Calls.Log) throws -> Calls {
        let calls = Calls(name: id.description, log: log)
        try #require(dom0.domain(id)).vm.hypercalls = calls
        return calls
    }

    @Test("a blocked domain gives up the hart at once and is not run again until its event is pending")
    func blockUntilEvent() throws {
        let dom0 = try dom0()
        let log = Calls.Log()
        let waiter = try dom0.create(image: Self.waiter, memorySize: 1 << 20)
        let sender = try dom0.create(image: Self.sender, memorySize: 1 << 20)
        let senderCalls = try install(dom0, sender, log: log)
        _ = try install(dom0, waiter, log: log)
        let waitingVM = try #require(dom0.domain(waiter)).vm
        senderCalls.onSend = { waitingVM.vcpu.csrs.mip |= InterruptBits.supervisorExternal }
        dom0.unpauseAll()

        #expect(dom0.runSlice())
        // Three instructions and the block hypercall: the slice ended there, not after 5,000.
        #expect(waitingVM.vcpu.retired == 4)
        #expect(waitingVM.isBlocked)
        #expect(dom0.domain(waiter)?.state == .runnable)
        // The sender's 60,000-instruction loop takes 12 slices; the waiter gets none of them.
        var slices = 0
        while waitingVM.isBlocked {
            #expect(dom0.runSlice())
            #expect(waitingVM.vcpu.retired == 4)
            slices += 1
        }
        #expect(slices == 13)
        dom0.run()
        #expect(dom0.domain(waiter)?.state == .exited(code: 0))
        #expect(dom0.domain(sender)?.state == .exited(code: 0))
        #expect(log.exits == ["dom2", "dom1"])
        // Nobody was ever idle: the sender ran whenever the waiter was blocked.
        #expect(dom0.idleInstructions == 0)
        #expect(dom0.hartInstructions == waitingVM.vcpu.retired + (dom0.domain(sender)?.vm.vcpu.retired ?? 0))
    }

    @Test("when every domain is blocked, the hart idles to the earliest timer deadline, the same way every run")
    func idleToTimer() throws {
        func run() throws -> (exits: [String], idle: UInt64, hart: UInt64, retired: [UInt64]) {
            let dom0 = try dom0()
            let log = Calls.Log()
            // Each arms its timer (a0 ticks ahead) and blocks; the timer is the only way to wake.
            let late = try CSREmulationTests.assemble("li a7, 0x24\nli a0, 50000\necall\nli a7, 0x20\necall\n" + Self.exit)
            let soon = try CSREmulationTests.assemble("li a7, 0x24\nli a0, 20000\necall\nli a7, 0x20\necall\n" + Self.exit)
            let ids = [try dom0.create(image: late, memorySize: 1 << 20), try dom0.create(image: soon, memorySize: 1 << 20)]
            for id in ids { _ = try install(dom0, id, log: log) }
            dom0.unpauseAll()
            dom0.run()
            for id in ids { #expect(dom0.domain(id)?.state == .exited(code: 0)) }
            return (log.exits, dom0.idleInstructions, dom0.hartInstructions, ids.map { dom0.domain($0)?.vm.vcpu.retired ?? 0 })
        }
        let first = try run()
        #expect(first.exits == ["dom2", "dom1"], "the nearer deadline wakes first")
        // Eighteen instructions between them; the rest of the 50,000-tick wait was skipped idle time.
        #expect(first.retired == [9, 9])
        #expect(first.hart == first.idle + first.retired.reduce(0, +))
        #expect(first.idle > 49_000 && first.hart >= 50_000)
        let second = try run()
        #expect(second.idle == first.idle && second.hart == first.hart)
    }

    @Test("yield ends the slice but leaves the domain runnable: the other domain runs next")
    func yieldEndsSlice() throws {
        let dom0 = try dom0()
        let log = Calls.Log()
        let yielder = try dom0.create(image: try CSREmulationTests.assemble("li a7, 0x21\necall\necall\n" + Self.exit), memorySize: 1 << 20)
        let spinner = try dom0.create(image: try CSREmulationTests.assemble("li t1, 4000\n1: addi t1, t1, -1\nbnez t1, 1b\n" + Self.exit),
                                      memorySize: 1 << 20)
        for id in [yielder, spinner] { _ = try install(dom0, id, log: log) }
        dom0.unpauseAll()
        let yielding = try #require(dom0.domain(yielder)).vm, spinning = try #require(dom0.domain(spinner)).vm
        #expect(dom0.runSlice())
        #expect(yielding.vcpu.retired == 2 && !yielding.isBlocked)
        #expect(dom0.runSlice())
        #expect(spinning.vcpu.retired == 5_000, "the spinner ran a whole slice")
        #expect(dom0.runSlice())
        #expect(yielding.vcpu.retired == 3, "the second yield ended the next slice too")
        dom0.run()
        #expect(log.exits == ["dom2", "dom1"])
    }

    @Test("a domain blocked with nothing that could wake it leaves Dom0 with nothing to run, not a fault")
    func blockedForever() throws {
        let dom0 = try dom0()
        let id = try dom0.create(image: Self.waiter, memorySize: 1 << 20)
        _ = try install(dom0, id, log: Calls.Log())
        dom0.unpauseAll()
        #expect(dom0.runSlice())
        #expect(!dom0.runSlice())
        #expect(dom0.domain(id)?.state == .runnable)
        #expect(dom0.domain(id)?.vm.isBlocked == true)
        #expect(dom0.idleInstructions == 0)
    }

    @Test("alone on its hart, the block hypercall waits in place like WFI and the run goes on")
    func aloneOnTheHart() throws {
        let log = Calls.Log()
        let late = try CSREmulationTests.assemble("li a7, 0x24\nli a0, 30000\necall\nli a7, 0x20\necall\n" + Self.exit)
        let vm = try VirtualMachine.hostingOne(GuestConfiguration(), image: late, console: .silent,
                                               handler: PrivilegedInstructionEmulator())
        vm.hypercalls = Calls(name: "alone", log: log)
        #expect(vm.run(maxInstructions: 5_000) == .exited(code: 0))
        #expect(vm.vcpu.retired == 9)
        #expect(vm.vcpu.mtime >= 30_000, "virtual time moved to the deadline")
    }
}
