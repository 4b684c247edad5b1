import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing
@testable import SplitIO

/// The I/O hypercalls as a hostile guest kernel would call them: every bad argument is an error
/// value in a0, the grant table only ever records frames the domain owns (through its p2m), and
/// a guest's user mode cannot make I/O hypercalls at all.
@Suite("IOHypercalls")
struct IOHypercallTests {
    final class Setup {
        let scratch: DomainIOTests.Disks
        let dom0: Dom0
        let host: IOHost
        let vm: VirtualMachine
        let id = SplitIO.DomainID(1)

        init(path: IOPath = .split) throws {
            scratch = try DomainIOTests.Disks()
            let disk = try #require(scratch.make(1, pages: 4).first).disk
            var configuration = Dom0.Configuration()
            configuration.machineMemory = 16 << 20
            configuration.shadowFramesPerDomain = 16
            dom0 = try Dom0(configuration: configuration, output: ConsoleIO(write: { _ in }))
            host = IOHost(dom0: dom0)
            let domain = try dom0.create(image: try DomainIOTests.guestImage(), memorySize: 1 << 20)
            try host.attach(domain, path: path, disk: disk,
                            workload: IOWorkload(pattern: .sequential, operation: .read, batch: 1, requests: 1, diskPages: 4))
            vm = try #require(dom0.domain(domain)).vm
        }

        /// Makes hypercall `number` from the guest kernel; returns a0.
        func call(_ number: UInt32, _ a0: UInt32 = 0, _ a1: UInt32 = 0, privilege: PrivilegeLevel = .machine) -> Int32? {
            var vcpu = vm.vcpu
            vcpu.privilege = privilege
            vcpu.setRegister(17, number)
            vcpu.setRegister(10, a0)
            vcpu.setRegister(11, a1)
            guard var handler = vm.hypercalls else { return nil }
            let outcome = handler.hypercall(vcpu: &vcpu, platform: GuestPlatform(memory: vm.memory, devices: vm.devices))
            guard outcome == .completed else { return nil }
            return Int32(bitPattern: vcpu.register(10))
        }
    }

    @Test("a grant names the guest's frame; the grant table records the machine frame behind it in the p2m")
    func grantTranslatesThroughP2M() throws {
        let setup = try Setup()
        let guestFrame: UInt32 = 0x8004_0000
        let reference = try #require(setup.call(IOHypercallABI.grant, guestFrame, 0))
        #expect(reference >= 0)
        let mapping = try setup.host.grants.map(GrantReference(UInt32(reference)), grantedBy: setup.id, into: .dom0, access: .readWrite)
        #expect(mapping.frame == FrameNumber(containing: try #require(setup.vm.memory.machineAddress(of: guestFrame))))
        #expect(mapping.frame.address != guestFrame, "the machine frame is not the guest frame's number")
    }

    @Test("grants of memory the guest does not have, or unaligned, are refused")
    func badGrants() throws {
        let setup = try Setup()
        #expect(setup.call(IOHypercallABI.grant, 0x8010_0000) == IOHypercallABI.invalidParameter, "just past its 1 MiB")
        #expect(setup.call(IOHypercallABI.grant, 0x1000_0000) == IOHypercallABI.invalidParameter, "a device page")
        #expect(setup.call(IOHypercallABI.grant, 0x8000_0010) == IOHypercallABI.invalidParameter, "unaligned")
        #expect(setup.call(IOHypercallABI.grantEnd, 5) == IOHypercallABI.denied, "a reference never made")
        #expect(setup.host.grants.activeGrants(of: setup.id) == 0)
    }

    @Test("connecting with a bogus ring grant or port, sending on a bogus port, and unknown calls get errors")
    func badConnectionsAndPorts() throws {
        let setup = try Setup()
        #expect(setup.call(IOHypercallABI.blockConnect, 77, 3) == IOHypercallABI.invalidParameter)
        #expect(setup.host.connection(of: Hypervisor.DomainID(1)) == nil)
        #expect(setup.call(IOHypercallABI.eventSend, 9) == IOHypercallABI.invalidParameter)
        #expect(setup.call(IOHypercallABI.passthroughAssign, 0x8000_1000) == IOHypercallABI.denied, "no device on the split path")
        #expect(setup.call(0x1FF) == IOHypercallABI.notSupported)
        #expect(setup.call(0x10) == nil, "not an I/O hypercall: left to the guest")
    }

    @Test("the guest's user mode cannot make I/O hypercalls: its ECALL goes to the guest kernel")
    func userModeIsNotServed() throws {
        let setup = try Setup()
        #expect(setup.call(IOHypercallABI.grant, 0x8004_0000, privilege: .user) == nil)
        #expect(setup.host.grants.activeGrants(of: setup.id) == 0)
    }

    @Test("a whole handshake through the hypercalls connects the backend once; a second connect is denied")
    func handshake() throws {
        let setup = try Setup()
        let ring = try #require(setup.call(IOHypercallABI.grant, 0x8004_0000))
        let port = try #require(setup.call(IOHypercallABI.eventAllocate))
        #expect(port > 0)
        #expect(setup.call(IOHypercallABI.blockConnect, UInt32(ring), UInt32(port)) == 0)
        let connection = try #require(setup.host.connection(of: Hypervisor.DomainID(1)))
        #expect(setup.host.backend.state(of: connection) == .connected)
        #expect(setup.call(IOHypercallABI.blockConnect, UInt32(ring), UInt32(port)) == IOHypercallABI.denied)
        #expect(setup.call(IOHypercallABI.grantEnd, UInt32(ring)) == IOHypercallABI.denied, "the backend has the ring mapped")
    }
}
