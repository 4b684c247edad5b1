import RISCV

/// Which host descriptors become the process's 0, 1 and 2.
public struct LinuxStandardStreams: Sendable, Equatable {
    public var input: Int32
    public var output: Int32
    public var error: Int32
    public init(input: Int32, output: Int32, error: Int32) {
        self.input = input
        self.output = output
        self.error = error
    }
    /// The host process's own stdin, stdout and stderr, as qemu-riscv32 gives them to its guest.
    public static let host = LinuxStandardStreams(input: 0, output: 1, error: 2)
}

/// A static RV32 Linux program running as a user process on an emulated `Machine`, the way
/// `qemu-riscv32` runs one, with a tiny kernel written in Swift.
///
/// The kernel does what Linux does for such a process, on the real hardware model: it takes
/// physical frames from the machine's RAM, builds Sv32 page tables there, maps the ELF's PT_LOAD
/// segments with their permissions, lays out argc/argv/envp/auxv on a stack at the top of user
/// space (see `LinuxUserLayout`), points `satp` at the tables and drops the hart to U-mode at the
/// entry point. The machine runs with `interceptUserTraps`, so every trap the process takes comes
/// back here: ECALL is a system call, a page fault in the heap or stack maps a page, any other
/// fault kills the process with the signal Linux would send.
///
/// System calls (RV32 numbering, see `LinuxSyscall`): read, write, writev, openat, close,
/// _llseek, fstat64, exit, exit_group, brk, clock_gettime64, getpid, uname, set_tid_address.
/// Every other number returns -ENOSYS.
///
/// Deterministic, unlike qemu-riscv32, where it can be: the process's pid is 1, uname names the
/// node "vlab", the clocks run on the machine's instruction-driven `time` CSR (a 10 MHz
/// timebase, like QEMU `virt`; CLOCK_REALTIME starts at 2025-01-01 00:00:00 UTC), and the
/// AT_RANDOM bytes come from `randomSeed`. The environment is exactly the one given
/// (qemu-riscv32 passes its own; a command line that wants that passes the host's).
///
/// Not Sendable: like the machine it drives, a process belongs to one thread.
public final class LinuxProcess {
    public let machine: Machine
    /// Called with one line per system call, `name(arguments) = result`, in the format of
    /// `qemu-riscv32 -strace` (without its pid prefix); also with a `--- SIGSEGV {...} ---` line
    /// when a signal kills the process.
    public var strace: ((String) -> Void)?

    /// The process id getpid reports (and set_tid_address, as the one thread's id).
    public static let processID: Int32 = 1

    let memory: UserAddressSpace
    var files: FileDescriptorTable
    /// Where set_tid_address asked the thread id to be cleared at exit (kept, as Linux keeps it;
    /// with one thread and no futexes nobody waits on it).
    var clearChildTID: UInt32 = 0
    /// Set once the process has ended; further `run` calls report the same end.
    private(set) var ending: LinuxExit?

    /// Prepares the process; it starts running at the first `run`.
    ///
    /// - Parameters:
    ///   - machine: a machine built with `interceptUserTraps` on. The process takes over all of its
    ///     RAM and its hart; use a fresh machine per process.
    ///   - executable: a static RV32 ELF executable (ET_EXEC, no PT_INTERP, no compressed code).
    ///   - arguments: the whole argv, argv[0] included, as execve takes it. argv[0] is also AT_EXECFN.
    ///   - environment: the envp strings ("NAME=value"), given to the process exactly.
    public init(machine: Machine, executable: ELFFile, arguments: [String], environment: [String],
                standardStreams: LinuxStandardStreams = .host, randomSeed: UInt64 = 0x5EED) throws(LinuxError) {
        guard machine.configuration.interceptUserTraps else {
            throw LinuxError("the machine must be built with interceptUserTraps on to run a Linux process")
        }
        let image = try LinuxExecutableImage(executable)
        self.machine = machine
        memory = try UserAddressSpace(machine: machine)
        files = FileDescriptorTable(standardInput: standardStreams.input, standardOutput: standardStreams.output,
                                    standardError: standardStreams.error)

        // The segments: map every page they touch, then copy the file bytes in (the rest is the
        // zero-filled bss, and fresh frames are zero).
        var segmentPages = Set<UInt32>()
        for segment in image.segments {
            segmentPages.formUnion(stride(from: LinuxUserLayout.pageDown(segment.start), to: segment.end,
                                          by: Int(LinuxUserLayout.pageSize)).map { $0 >> 12 })
        }
        // Each page, each level-0 table those pages need, and the stack's level-0 table.
        let needed = segmentPages.count + Set(segmentPages.map { $0 >> 10 }).count + 1
        guard needed <= memory.availableFrames else {
            throw LinuxError("the program's segments need \(needed) pages of RAM with their page tables; the machine has "
                + "\(memory.availableFrames) free (\(machine.configuration.ramSize >> 10) KiB)")
        }
        for segment in image.segments {
            var page = LinuxUserLayout.pageDown(segment.start)
            while page < segment.end {
                do {
                    try memory.map(page: page, permissions: segment.permissions)
                } catch {
                    throw LinuxError("out of memory mapping the segment at 0x\(hex(segment.start))")
                }
                page += LinuxUserLayout.pageSize
            }
        }
        for segment in image.segments { memory.fill(at: segment.start, with: segment.data) }
        memory.startHeap(at: LinuxUserLayout.pageUp(image.segments.map(\.end).max() ?? LinuxUserLayout.lowestUserAddress))

        // The stack: argc, argv, envp, auxv, strings, mapped now (the rest grows on demand).
        let auxiliaryVector: [(type: UInt32, value: InitialStack.AuxiliaryValue)] = [
            (AuxiliaryVectorType.programHeaders, .value(image.programHeaderAddress)),
            (AuxiliaryVectorType.programHeaderSize, .value(32)),
            (AuxiliaryVectorType.programHeaderCount, .value(image.programHeaderCount)),
            (AuxiliaryVectorType.pageSize, .value(LinuxUserLayout.pageSize)),
            (AuxiliaryVectorType.interpreterBase, .value(0)),
            (AuxiliaryVectorType.flags, .value(0)),
            (AuxiliaryVectorType.entry, .value(executable.entry)),
            (AuxiliaryVectorType.userID, .value(0)),
            (AuxiliaryVectorType.effectiveUserID, .value(0)),
            (AuxiliaryVectorType.groupID, .value(0)),
            (AuxiliaryVectorType.effectiveGroupID, .value(0)),
            // The harts implement I, M and A: one bit per extension letter, as Linux reports them.
            (AuxiliaryVectorType.hardwareCapabilities, .value(1 << 8 | 1 << 12 | 1 << 0)),
            (AuxiliaryVectorType.clockTicks, .value(100)),
            (AuxiliaryVectorType.random, .randomBytesAddress),
            (AuxiliaryVectorType.secure, .value(0)),
            (AuxiliaryVectorType.executableName, .executableNameAddress),
        ]
        let stack = try InitialStack(
            top: LinuxUserLayout.stackTop, arguments: arguments, environment: environment,
            executableName: arguments.first ?? "", randomBytes: LinuxProcess.randomBytes(seed: randomSeed),
            auxiliaryVector: auxiliaryVector)
        var page = LinuxUserLayout.pageDown(stack.stackPointer)
        while page < stack.top {
            do {
                try memory.map(page: page, permissions: [.read, .write])
            } catch {
                throw LinuxError("out of memory building the initial stack (\(stack.bytes.count) bytes)")
            }
            page += LinuxUserLayout.pageSize
        }
        memory.fill(at: stack.stackPointer, with: stack.bytes)

        // The hart: all registers zero but sp (a0 = 0 also says "no exit handler from a dynamic
        // linker", as the RISC-V ELF ABI wants), Sv32 translation on, U-mode, at the entry point.
        for number in 1..<32 { machine.setRegister(Register(UInt8(number)), 0) }
        machine.setRegister(.sp, stack.stackPointer)
        machine.writeCSR(LinuxProcess.satp, 1 << 31 | memory.rootTable >> 12)
        // rdcycle, rdtime and rdinstret work in U-mode, as under qemu-riscv32 (both counter-enable
        // registers must allow them, since the hart has S-mode).
        machine.writeCSR(LinuxProcess.mcounteren, 0b111)
        machine.writeCSR(LinuxProcess.scounteren, 0b111)
        machine.privilege = .user
        machine.pc = executable.entry
    }

    deinit {
        files.closeAll()
    }

    static let satp: UInt16 = 0x180
    static let mcounteren: UInt16 = 0x306
    static let scounteren: UInt16 = 0x106

    /// 16 bytes for AT_RANDOM, from a seed (splitmix64), so runs repeat exactly.
    static func randomBytes(seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes: [UInt8] = []
        for _ in 0..<2 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: z >> (8 * UInt64(k)))) }
        }
        return bytes
    }

    /// Runs the process until it exits, is killed, or `maxInstructions` more instructions retire
    /// (then call `run` again to go on). After the process has ended, returns how it ended.
    public func run(maxInstructions: UInt64? = nil) -> LinuxExit {
        if let ending { return ending }
        var budget = maxInstructions
        while true {
            let before = machine.retiredInstructions
            let stop = machine.run(maxInstructions: budget)
            if let b = budget { budget = b - min(b, machine.retiredInstructions - before) }
            switch stop {
            case .instructionLimit:
                return .instructionLimit
            case .guestFault(let message):
                return end(.fault(message))
            case .exited(let code):
                // The process has no device mapped, so it cannot reach the test finisher or HTIF.
                return end(.fault("the machine stopped with exit code \(code), which a user process cannot cause"))
            case .userTrap(let trap):
                if let outcome = handle(trap) { return end(outcome) }
            }
        }
    }

    private func end(_ outcome: LinuxExit) -> LinuxExit {
        ending = outcome
        files.closeAll()
        return outcome
    }

    /// The kernel's trap handler. Returns how the process ended, or nil to let it go on.
    private func handle(_ trap: Trap) -> LinuxExit? {
        guard !trap.isInterrupt else {
            return .fault("unexpected interrupt (mcause 0x\(hex(trap.cause))) while running the process")
        }
        switch trap.cause {
        case 8:  // environment call from U-mode
            return systemCall()
        case 12, 13, 15:  // instruction, load, store/AMO page fault
            let needing: UserAddressSpace.Permissions = trap.cause == 12 ? .execute : trap.cause == 13 ? .read : .write
            switch memory.resolveFault(at: trap.value, needing: needing) {
            case .mapped:
                return nil  // pc still points at the instruction: it runs again
            case .segmentationFault(let code):
                return kill(LinuxSignal.segmentationFault, code: code, address: trap.value)
            case .outOfMemory:
                return .fault("out of memory: no free RAM frame for the page at 0x\(hex(trap.value)) "
                    + "(the machine has \(machine.configuration.ramSize >> 20) MiB)")
            }
        case 1, 5, 7:  // access faults: Linux reports them as SEGV_ACCERR
            return kill(LinuxSignal.segmentationFault, code: 2, address: trap.value)
        case 2:  // ILL_ILLOPC
            return kill(LinuxSignal.illegalInstruction, code: 1, address: trap.pc)
        case 3:  // TRAP_BRKPT
            return kill(LinuxSignal.trap, code: 1, address: trap.pc)
        case 0, 4, 6:  // BUS_ADRALN: a misaligned jump target or atomic
            return kill(LinuxSignal.busError, code: 1, address: trap.value)
        default:
            return .fault("unexpected trap from U-mode: \(trap)")
        }
    }

    /// The default action of these signals: the process dies. The trace line is strace's.
    private func kill(_ signal: Int32, code: Int32, address: UInt32) -> LinuxExit {
        let name = LinuxSignal.name(signal)
        strace?("--- \(name) {si_signo=\(name), si_code=\(code), si_addr=\(Trace.pointer(address))} ---")
        return .killed(signal: signal)
    }
}

@available(*, unavailable, message: "a LinuxProcess is confined to the thread that runs its machine")
extension LinuxProcess: Sendable {}
