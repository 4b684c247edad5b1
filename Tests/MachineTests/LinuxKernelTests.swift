import Foundation
@testable import Machine
import RISCV
import Testing

/// The pieces of the Linux layer one at a time: the initial stack, brk and demand paging, the
/// system-call dispatcher and its trace, the loader's refusals, open flags and descriptors.
@Suite("Linux user mode: kernel pieces")
struct LinuxKernelTests {
    static func machine(ramSize: Int = 8 << 20) throws -> Machine {
        var configuration = MachineConfiguration()
        configuration.interceptUserTraps = true
        configuration.ramSize = ramSize
        return try Machine(configuration: configuration)
    }

    static func word(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
    }

    // MARK: The initial stack

    @Test func initialStackHoldsArgcArgvEnvpAuxvAndStrings() throws {
        let random: [UInt8] = Array(100..<116)
        let stack = try InitialStack(
            top: 0xC000_0000, arguments: ["prog", "a b", ""], environment: ["X=1", "EMPTY="],
            executableName: "prog", randomBytes: random,
            auxiliaryVector: [(6, .value(4096)), (25, .randomBytesAddress), (31, .executableNameAddress)])
        let sp = stack.stackPointer
        #expect(sp % 16 == 0)
        #expect(Int(stack.top - sp) == stack.bytes.count)
        let b = stack.bytes
        func at(_ address: UInt32) -> Int { Int(address - sp) }
        func string(_ address: UInt32) -> String {
            String(decoding: b[at(address)...].prefix { $0 != 0 }, as: UTF8.self)
        }
        // argc, argv[0..2], NULL, envp[0..1], NULL, then auxv pairs and AT_NULL.
        #expect(Self.word(b, at: 0) == 3)
        let argv = (0..<3).map { Self.word(b, at: 4 + 4 * $0) }
        #expect(argv.map(string) == ["prog", "a b", ""])
        #expect(argv == stack.argumentAddresses)
        #expect(Self.word(b, at: 16) == 0)
        #expect([Self.word(b, at: 20), Self.word(b, at: 24)].map(string) == ["X=1", "EMPTY="])
        #expect(Self.word(b, at: 28) == 0)
        let auxv = (0..<8).map { Self.word(b, at: 32 + 4 * $0) }
        #expect(auxv[0] == 6 && auxv[1] == 4096)
        #expect(auxv[2] == 25 && Array(b[at(auxv[3]) ..< at(auxv[3]) + 16]) == random)
        #expect(auxv[4] == 31 && string(auxv[5]) == "prog")
        #expect(auxv[6] == 0 && auxv[7] == 0)
        // The strings sit in order at the top, argv then envp then the name, and a zero word ends it.
        #expect(argv[0] < argv[1] && argv[2] < stack.environmentAddresses[0])
        #expect(stack.environmentAddresses[1] < auxv[5])
        #expect(Self.word(b, at: b.count - 4) == 0)
        #expect(auxv[5] + 5 == stack.top - 4)  // "prog\0" ends right below the zero word
    }

    @Test func initialStackIsAPureFunctionOfItsInputs() throws {
        func build() throws -> InitialStack {
            try InitialStack(top: 0xC000_0000, arguments: ["p", "x"], environment: ["A=B"], executableName: "p",
                             randomBytes: [UInt8](repeating: 7, count: 16), auxiliaryVector: [(6, .value(4096))])
        }
        #expect(try build() == build())
    }

    @Test func initialStackRefusesNulBytesAndOversizedArguments() {
        #expect(throws: LinuxError.self) {
            try InitialStack(top: 0xC000_0000, arguments: ["a\u{0}b"], environment: [], executableName: "a",
                             randomBytes: [UInt8](repeating: 0, count: 16), auxiliaryVector: [])
        }
        let huge = String(repeating: "x", count: LinuxUserLayout.argumentSpaceLimit)
        do {
            _ = try InitialStack(top: 0xC000_0000, arguments: ["p", huge], environment: [], executableName: "p",
                                 randomBytes: [UInt8](repeating: 0, count: 16), auxiliaryVector: [])
            Issue.record("an argument larger than the argument space was accepted")
        } catch {
            #expect(error.message.contains("arguments and environment take"))
        }
    }

    @Test func processStackMatchesWhatTheGuestSees() throws {
        let machine = try Self.machine()
        let elf = try TinyELF(code: [TinyELF.li(.a0, 0)] + TinyELF.exitGroup(statusFrom: .a0)).elf()
        _ = try LinuxProcess(machine: machine, executable: elf, arguments: ["tiny", "arg"], environment: ["K=V"])
        let sp = machine.register(.sp)
        #expect(sp % 16 == 0 && sp < LinuxUserLayout.stackTop && sp > LinuxUserLayout.stackTop - 4096)
        #expect(machine.privilege == .user)
        #expect(machine.pc == elf.entry)
        #expect(machine.readCSR(0x180) >> 31 == 1)  // Sv32
    }

    // MARK: brk and demand paging

    @Test func brkGrowsShrinksAndRefusesLikeLinux() throws {
        let machine = try Self.machine(ramSize: 1 << 20)  // 256 frames
        let space = try UserAddressSpace(machine: machine)
        space.startHeap(at: 0x20000)
        #expect(space.setBreak(0) == 0x20000)                     // brk(0) asks for the break
        #expect(space.setBreak(0x1FFFF) == 0x20000)               // below the start: refused
        #expect(space.setBreak(0x20010) == 0x20010)               // any byte address, not only pages
        #expect(space.setBreak(0x30000) == 0x30000)
        #expect(space.mappedPageCount == 0)                       // nothing is mapped before it is touched
        #expect(space.resolveFault(at: 0x2F123, needing: .write) == .mapped)
        #expect(space.permissions(ofPageAt: 0x2F000) == [.read, .write])
        #expect(space.resolveFault(at: 0x30000, needing: .read) == .segmentationFault(code: 1))  // past the break
        #expect(space.resolveFault(at: 0x2E000, needing: .execute) == .segmentationFault(code: 2))
        // More than RAM holds: the old break comes back, as Linux's brk reports ENOMEM.
        #expect(space.setBreak(0x20000 + (2 << 20)) == 0x30000)
        #expect(space.setBreak(LinuxUserLayout.stackLimit) == 0x30000)  // into the stack's guard gap
        // Shrinking unmaps whole pages above the new break; growing again maps fresh zero pages.
        #expect(space.copyOut([0xAB, 0xCD], to: 0x2FFF0) == nil)
        let mapped = space.mappedPageCount
        #expect(space.setBreak(0x2F000) == 0x2F000)
        #expect(space.mappedPageCount == mapped - 1)
        #expect(space.copyOut([1], to: 0x2FFF0) == .EFAULT)       // gone
        #expect(space.setBreak(0x30000) == 0x30000)
        #expect(try space.copyIn(from: 0x2FFF0, count: 2).get() == [0, 0])
    }

    @Test func stackPagesAppearOnFirstTouchWithinEightMegabytes() throws {
        let machine = try Self.machine()
        let space = try UserAddressSpace(machine: machine)
        #expect(space.resolveFault(at: LinuxUserLayout.stackTop - 1, needing: .write) == .mapped)
        #expect(space.resolveFault(at: LinuxUserLayout.stackLimit, needing: .read) == .mapped)
        #expect(space.resolveFault(at: LinuxUserLayout.stackLimit - 1, needing: .read) == .segmentationFault(code: 1))
        #expect(space.resolveFault(at: 0xC000_0000, needing: .read) == .segmentationFault(code: 1))
    }

    @Test func runningOutOfRamForTheStackIsAFaultThatSaysSo() throws {
        let run = try LinuxGuests.runVlab("signals", ["stack"], ramSize: 512 << 10)
        guard case .other(let message) = run.ending else {
            Issue.record("expected an out-of-memory fault, got \(run.ending)")
            return
        }
        #expect(message.contains("out of memory"))
    }

    @Test func pageTablesInRamAreWhatTheMachineWalks() throws {
        // Map a page, write through the kernel's copy, and read it back through the hart: a load
        // in U-mode at that virtual address must see the byte the kernel wrote.
        let machine = try Self.machine()
        let code = [TinyELF.lui(.s0, 0x0040_0000), Instruction(.lw, rd: .a0, rs1: .s0, immediate: 0x124), TinyELF.li(.a7, 94), TinyELF.ecall]
        let elf = try TinyELF(code: code, extraHeaders: [
            .init(type: 1, virtualAddress: 0x40_0000, memorySize: 0x1000, flags: 6),
        ]).elf()
        let process = try LinuxProcess(machine: machine, executable: elf, arguments: ["t"], environment: [])
        #expect(process.memory.copyOut([42, 0, 0, 0], to: 0x40_0124) == nil)
        #expect(process.run(maxInstructions: 100) == .exited(status: 42))
    }

    // MARK: System calls and the trace

    @Test func unknownSystemCallsReturnENOSYSAndAreTraced() throws {
        let machine = try Self.machine()
        let code = [TinyELF.li(.a7, 999), TinyELF.li(.a0, 7), TinyELF.ecall,
                    TinyELF.li(.a7, 222), TinyELF.li(.a0, 0), TinyELF.li(.a1, 2000), TinyELF.ecall,
                    Instruction(.sub, rd: .s0, rs1: .zero, rs2: .a0)]  // exit with -(mmap2's result)
            + TinyELF.exitGroup(statusFrom: .s0)
        let elf = try TinyELF(code: code).elf()
        let process = try LinuxProcess(machine: machine, executable: elf, arguments: ["t"], environment: [])
        var trace: [String] = []
        process.strace = { trace.append($0) }
        #expect(process.run(maxInstructions: 1000) == .exited(status: 38))
        #expect(trace == [
            "syscall_999(7,0,0,0,0,0) = -1 errno=38 (Function not implemented)",
            "mmap2(0,2000,0,0,0,0) = -1 errno=38 (Function not implemented)",
            "exit_group(38)",
        ])
        #expect(process.run(maxInstructions: 10) == .exited(status: 38))  // ended stays ended
    }

    @Test func traceShowsEachCallLikeQemuStrace() throws {
        let scratch = try LinuxGuests.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in.txt")
        try Data("0123456789abcdefghijklmnopqrstuvwxyz\n".utf8).write(to: input)
        let output = scratch.appendingPathComponent("out.txt").path
        let run = try LinuxGuests.runVlab("fileio", [input.path, output])
        #expect(run.ending == .exited(0))
        let expectedLines = [
            "openat(AT_FDCWD,\"\(input.path)\",O_RDONLY) = 3",
            "read(3,0x",
            "llseek(3,0,10,0x",
            "llseek(3,4294967295,4294967291,0x",  // -5 from SEEK_END: the halves print unsigned, as in qemu
            ",SEEK_END) = 0",
            ",UNKNOWN) = -1 errno=22 (Invalid argument)",
            "close(3) = -1 errno=9 (Bad file descriptor)",
            "openat(AT_FDCWD,\"\(output)\",O_RDWR|O_CREAT|O_TRUNC,0644) = 3",
            "openat(AT_FDCWD,\"\(output)\",O_WRONLY|O_APPEND) = 3",
            "openat(AT_FDCWD,\"/nonexistent/vlab-guest-file\",O_RDONLY) = -1 errno=2 (No such file or directory)",
            "write(57,0x",
            "fstat64(-1,0x",
            "read(0,0x10,1) = -1 errno=14 (Bad address)",
            "exit_group(0)",
        ]
        let all = run.trace.joined(separator: "\n")
        for fragment in expectedLines {
            #expect(all.contains(fragment), "trace lacks \(fragment.debugDescription):\n\(all)")
        }
        #expect(run.trace.last == "exit_group(0)")
    }

    @Test func signalDeathIsTracedWithItsAddress() throws {
        let run = try LinuxGuests.runVlab("signals", ["null"])
        #expect(run.ending == .killed(11))
        #expect(run.trace.last == "--- SIGSEGV {si_signo=SIGSEGV, si_code=1, si_addr=NULL} ---")
        #expect(LinuxExit.killed(signal: 11).shellStatus == 139)
        #expect(LinuxExit.exited(status: 3).shellStatus == 3)
        let rodata = try LinuxGuests.runVlab("signals", ["rodata"])
        #expect(rodata.trace.last?.hasPrefix("--- SIGSEGV {si_signo=SIGSEGV, si_code=2, si_addr=0x000") == true)
    }

    @Test func runsAreDeterministicDownToTheClock() throws {
        let first = try LinuxGuests.runVlab("sysinfo")
        let second = try LinuxGuests.runVlab("sysinfo")
        #expect(first == second)
        #expect(first.trace.contains { $0.hasPrefix("clock_gettime64(CLOCK_MONOTONIC,0x") && $0.contains("tv_nsec") })
        #expect(first.trace.contains("getpid() = 1"))
    }

    @Test func userModeMayReadTheCounters() throws {
        // rdinstret, rdtime, rdcycle (csrrs rd, counter, zero): allowed in U-mode, as Linux and
        // qemu-riscv32 allow them. The instret read is the fourth instruction: 3 retired before it.
        let machine = try Self.machine()
        let code = [TinyELF.li(.s1, 1), TinyELF.li(.s1, 2), TinyELF.li(.s1, 3),
                    Instruction(.csrrs, rd: .s0, rs1: .zero, csr: 0xC02),
                    Instruction(.csrrs, rd: .s1, rs1: .zero, csr: 0xC01),
                    Instruction(.csrrs, rd: .s1, rs1: .zero, csr: 0xC00)]
            + TinyELF.exitGroup(statusFrom: .s0)
        let process = try LinuxProcess(machine: machine, executable: try TinyELF(code: code).elf(), arguments: ["t"], environment: [])
        #expect(process.run(maxInstructions: 100) == .exited(status: 3))
    }

    @Test func instructionLimitStopsAndRunContinues() throws {
        let machine = try Self.machine()
        let elf = try ELFFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: LinuxGuests.path("long")))))
        let process = try LinuxProcess(machine: machine, executable: elf, arguments: ["long"], environment: [])
        #expect(process.run(maxInstructions: 100_000) == .instructionLimit)
        #expect(machine.retiredInstructions == 100_000)
        #expect(process.run(maxInstructions: 50_000) == .instructionLimit)
        #expect(machine.retiredInstructions == 150_000)
    }

    // MARK: What the loader refuses

    static func loadError(_ elf: TinyELF, machine: Machine? = nil) throws -> String? {
        do {
            _ = try LinuxProcess(machine: machine ?? Self.machine(), executable: try elf.elf(), arguments: ["x"], environment: [])
            return nil
        } catch let error as LinuxError {
            return error.message
        }
    }

    static let exitCode = [TinyELF.li(.a0, 0)] + TinyELF.exitGroup(statusFrom: .a0)

    @Test func refusesDynamicallyLinkedPrograms() throws {
        var elf = TinyELF(code: Self.exitCode)
        let path = Array("/lib/ld-linux-riscv32-ilp32.so.1\u{0}".utf8)
        elf.trailer = path
        elf.extraHeaders = [.init(type: 3, offset: 0, virtualAddress: 0, fileSize: UInt32(path.count), memorySize: UInt32(path.count), flags: 4)]
        elf.extraHeaders[0].offset = elf.trailerOffset
        #expect(try Self.loadError(elf) == "not a static executable: has PT_INTERP /lib/ld-linux-riscv32-ilp32.so.1 (link with -static)")
    }

    @Test func refusesFilesThatAreNotExecutables() throws {
        var elf = TinyELF(code: Self.exitCode)
        elf.fileType = 3
        #expect(try Self.loadError(elf)?.hasPrefix("ELF type is not EXEC: it is DYN") == true)
        elf.fileType = 1
        #expect(try Self.loadError(elf)?.hasPrefix("ELF type is not EXEC: it is REL") == true)
    }

    @Test func refusesSegmentsOutsideUserSpace() throws {
        var stack = TinyELF(code: Self.exitCode)
        stack.extraHeaders = [.init(type: 1, virtualAddress: 0xBF90_0000, memorySize: 0x1000)]
        #expect(try Self.loadError(stack) == "segment at 0xbf900000-0xbf900fff overlaps the stack (0xbf800000-0xbfffffff and its guard page)")
        var kernel = TinyELF(code: Self.exitCode)
        kernel.extraHeaders = [.init(type: 1, virtualAddress: 0xC000_0000, memorySize: 0x10)]
        #expect(try Self.loadError(kernel) == "segment at 0xc0000000-0xc000000f overlaps the kernel's reserved area (0xc0000000 and up)")
        var zero = TinyELF(code: Self.exitCode)
        zero.extraHeaders = [.init(type: 1, virtualAddress: 0x0, memorySize: 0x10)]
        #expect(try Self.loadError(zero)?.contains("maps page zero") == true)
    }

    @Test func refusesCodeTheHartsCannotRun() throws {
        var compressed = TinyELF(code: Self.exitCode)
        compressed.flags = 1  // EF_RISCV_RVC
        #expect(try Self.loadError(compressed)?.contains("compressed (RVC) instructions") == true)
        var hardFloat = TinyELF(code: Self.exitCode)
        hardFloat.flags = 4  // EF_RISCV_FLOAT_ABI_DOUBLE
        #expect(try Self.loadError(hardFloat)?.contains("hard-float ABI (ilp32d)") == true)
        var dataEntry = TinyELF(code: Self.exitCode)
        dataEntry.entryOverride = 0x40_0000
        dataEntry.extraHeaders = [.init(type: 1, virtualAddress: 0x40_0000, memorySize: 0x10)]
        #expect(try Self.loadError(dataEntry) == "entry point 0x00400000 is in no executable segment")
    }

    @Test func refusesMoreSegmentThanRam() throws {
        var big = TinyELF(code: Self.exitCode)
        big.extraHeaders = [.init(type: 1, virtualAddress: 0x100_0000, memorySize: 2 << 20)]
        let message = try Self.loadError(big, machine: Self.machine(ramSize: 1 << 20))
        #expect(message?.hasPrefix("the program's segments need 516 pages of RAM with their page tables; the machine has 255 free") == true)
    }

    @Test func refusesAMachineThatDoesNotInterceptUserTraps() throws {
        let machine = try Machine(configuration: MachineConfiguration())
        #expect(try Self.loadError(TinyELF(code: Self.exitCode), machine: machine)
            == "the machine must be built with interceptUserTraps on to run a Linux process")
    }

    @Test func elf64AndOtherMachinesAreRefusedBeforeTheLoader() throws {
        var bytes = try TinyELF(code: Self.exitCode).bytes()
        bytes[4] = 2
        #expect(throws: ELFError("ELF64 file: VirtLab runs RV32 (ELF32) programs only")) { try ELFFile(bytes: bytes) }
        bytes = try TinyELF(code: Self.exitCode).bytes()
        bytes[18] = 62  // x86-64
        #expect(throws: ELFError("ELF for machine 62, not RISC-V (243)")) { try ELFFile(bytes: bytes) }
    }

    // MARK: Files

    @Test func openFlagsTranslateOrAreRefused() throws {
        #expect(try GuestOpenFlags.hostFlags(0o1 | 0o100 | 0o1000).get() == O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
        #expect(try GuestOpenFlags.hostFlags(0o2 | 0o2000 | 0o200000).get() == O_RDWR | O_APPEND | O_DIRECTORY | O_CLOEXEC)
        #expect(try GuestOpenFlags.hostFlags(0o100000).get() == O_RDONLY | O_CLOEXEC)  // O_LARGEFILE: nothing to do
        #expect(GuestOpenFlags.hostFlags(0o3) == .failure(.EINVAL))
        #expect(GuestOpenFlags.hostFlags(0o40000) == .failure(.EINVAL))       // O_DIRECT
        #expect(GuestOpenFlags.hostFlags(0o10000000) == .failure(.EINVAL))    // O_PATH
        // The names, as qemu-riscv32 -strace printed them for the same numbers.
        #expect(GuestOpenFlags.describe(0o2 | 0o100 | 0o2000 | 0o4000 | 0o200) == "O_RDWR|O_APPEND|O_CREAT|O_EXCL|O_NONBLOCK")
        #expect(GuestOpenFlags.describe(0o400000 | 0o40000 | 0o200000) == "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_DIRECT")
        #expect(GuestOpenFlags.describe(0o1 | 0o100 | 0o1000) == "O_WRONLY|O_CREAT|O_TRUNC")
    }

    @Test func descriptorsAreTheLowestFreeNumberUpToTheLimit() {
        var table = FileDescriptorTable(standardInput: 0, standardOutput: 1, standardError: 2)
        #expect(table.install(hostDescriptor: 100, owned: false) == 3)
        #expect(table.install(hostDescriptor: 101, owned: false) == 4)
        #expect(table.remove(1)?.hostDescriptor == 1)
        #expect(table.install(hostDescriptor: 102, owned: false) == 1)
        #expect(table.hostDescriptor(for: 1) == 102)
        while table.install(hostDescriptor: 103, owned: false) != nil {}
        #expect(table.entries.count == Int(FileDescriptorTable.limit))
        #expect(table.hostDescriptor(for: FileDescriptorTable.limit) == nil)
    }
}
