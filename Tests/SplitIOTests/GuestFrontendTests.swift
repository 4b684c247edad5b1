import Machine
import RISCV
import Testing
@testable import SplitIO

/// The frontend as real guest code: an RV32 program running in U-mode on the emulated machine
/// initializes its ring page, asks for grants and rings the doorbell through ECALL "hypercalls",
/// and speaks the blkif layout byte for byte, while the Swift backend serves it from the same RAM.
/// The host loop below plays the hypervisor: until the domains exist it is the only part standing
/// in for them (the hypercall numbers are this test's, not the project's ABI).
@Suite("GuestFrontend")
struct GuestFrontendTests {
    /// Test hypercalls (a7): 1 grant(a0 = address, a1 = read-only?) -> a0 = reference;
    /// 2 notify(a0 = port); 3 yield; 93 exit(a0 = code).
    static let source = """
        # s0 = ring page, s1 = write buffer, s2 = read buffer, s6 = event port (set by the toolstack)
        .text
        .globl _start
        _start:
            # SHARED_RING_INIT: producers 0, events 1
            sw zero, 0(s0)
            li t0, 1
            sw t0, 4(s0)
            sw zero, 8(s0)
            sw t0, 12(s0)
            # fill the write buffer: byte i = i * 7 + 3
            li t0, 0
            li t1, 4096
            li t3, 7
        fill:
            add t2, s1, t0
            mul t4, t0, t3
            addi t4, t4, 3
            sb t4, 0(t2)
            addi t0, t0, 1
            blt t0, t1, fill
            # grant the write buffer read-only and the read buffer read-write to the backend
            li a7, 1
            mv a0, s1
            li a1, 1
            ecall
            mv s4, a0
            li a7, 1
            mv a0, s2
            li a1, 0
            ecall
            mv s5, a0
            # slot 0: WRITE id 0x11, sector 5, one segment: all 8 sectors of the write buffer
            addi a1, s0, 64
            li t0, 1
            sb t0, 0(a1)
            sb t0, 1(a1)
            sh zero, 2(a1)
            li t0, 0x11
            sw t0, 8(a1)
            sw zero, 12(a1)
            li t0, 5
            sw t0, 16(a1)
            sw zero, 20(a1)
            sw s4, 24(a1)
            sb zero, 28(a1)
            li t0, 7
            sb t0, 29(a1)
            # slot 1: READ id 0x22, sector 5, into the read buffer
            addi a1, s0, 176
            sb zero, 0(a1)
            li t0, 1
            sb t0, 1(a1)
            sh zero, 2(a1)
            li t0, 0x22
            sw t0, 8(a1)
            sw zero, 12(a1)
            li t0, 5
            sw t0, 16(a1)
            sw zero, 20(a1)
            sw s5, 24(a1)
            sb zero, 28(a1)
            li t0, 7
            sb t0, 29(a1)
            # RING_PUSH_REQUESTS_AND_CHECK_NOTIFY
            lw t1, 0(s0)
            li t2, 2
            fence w, w
            sw t2, 0(s0)
            fence rw, rw
            lw t3, 4(s0)
            sub t4, t2, t3
            sub t5, t2, t1
            bgeu t4, t5, wait
            li a7, 2
            mv a0, s6
            ecall
        wait:
            lw t0, 8(s0)
            li t1, 2
            beq t0, t1, answered
            li a7, 3
            ecall
            j wait
        answered:
            fence r, r
            # responses: id at 0, operation at 8, status at 10
            addi a1, s0, 64
            lw t0, 0(a1)
            li t1, 0x11
            bne t0, t1, fail
            lh t0, 10(a1)
            bnez t0, fail
            addi a1, s0, 176
            lw t0, 0(a1)
            li t1, 0x22
            bne t0, t1, fail
            lh t0, 10(a1)
            bnez t0, fail
            # count bytes where the read buffer differs from the write buffer
            li t0, 0
            li t1, 4096
            li a0, 0
        compare:
            add t2, s1, t0
            lbu t3, 0(t2)
            add t2, s2, t0
            lbu t4, 0(t2)
            beq t3, t4, same
            addi a0, a0, 1
        same:
            addi t0, t0, 1
            blt t0, t1, compare
            li a7, 93
            ecall
        fail:
            li a0, 255
            li a7, 93
            ecall
        """

    @Test("an RV32 guest frontend writes and reads back a page through the Swift backend")
    func guestWritesAndReadsBack() throws {
        let fixture = try SplitIOFixture(interceptUserTraps: true)
        let guest = DomainID(1)
        let frames = fixture.giveFrames(to: guest, count: 4)  // code, ring, write buffer, read buffer
        let program = try Assembler.assemble(source: Self.source, fileName: "blkfront.S", base: frames[0].address)
        try fixture.machine.load(try ELFFile(bytes: program.elfExecutable()))

        // The toolstack's part: grant the ring page, offer a port, connect the backend.
        let ringReference = try fixture.grants.grantAccess(from: guest, to: .dom0, frame: frames[1], access: .readWrite)
        let port = try fixture.events.allocateUnbound(in: guest, remote: .dom0)
        let disk = try fixture.makeDisk("guest.img", sectors: 32)
        let connection = try fixture.backend.connect(frontend: guest, ringReference: ringReference, eventPort: port, disk: disk)

        let machine = fixture.machine
        machine.setRegister(Register(8), frames[1].address)
        machine.setRegister(Register(9), frames[2].address)
        machine.setRegister(Register(18), frames[3].address)
        machine.setRegister(Register(22), port.rawValue)
        machine.privilege = .user
        var exitCode: UInt32? = nil
        var hypercalls: [UInt32] = []
        for _ in 0..<100 where exitCode == nil {
            let stop = machine.run(maxInstructions: 1_000_000)
            guard case .userTrap(let trap) = stop, trap.cause == 8 else {
                Issue.record("guest stopped with \(stop)")
                break
            }
            let call = machine.register(.a7)
            hypercalls.append(call)
            switch call {
            case 1:
                let access: GrantAccess = machine.register(.a1) != 0 ? .readOnly : .readWrite
                let reference = try? fixture.grants.grantAccess(from: guest, to: .dom0,
                                                                frame: FrameNumber(containing: machine.register(.a0)), access: access)
                machine.setRegister(.a0, reference?.rawValue ?? UInt32.max)
            case 2:
                try fixture.events.send(from: guest, port: EventPort(machine.register(.a0)))
                fixture.runBackend()  // Dom0 runs when its upcall is pending
            case 3:
                fixture.runBackend()
            case 93:
                exitCode = machine.register(.a0)
            default:
                Issue.record("unknown hypercall \(call)")
            }
            machine.pc += 4
        }
        #expect(exitCode == 0)
        #expect(hypercalls == [1, 1, 2, 93])  // one notification; the responses were there at once
        let expected = (0..<pageSize).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) }
        let image = try fixture.imageBytes(disk)
        #expect(firstDifference(image[5 * 512 ..< 13 * 512], expected) == nil)
        #expect(image[0 ..< 5 * 512].allSatisfy { $0 == 0 } && image[13 * 512 ..< 32 * 512].allSatisfy { $0 == 0 })
        #expect(fixture.backend.statistics(of: connection)?.responsesOkay == 2)
        #expect(fixture.backend.statistics(of: connection)?.notificationsSent == 1)
    }
}
