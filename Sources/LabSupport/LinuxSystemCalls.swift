import RISCV

/// What the system-call layer needs from whichever machine runs the process: registers and
/// memory. The lab machine provides it, and so does the reference machine in the tests, so both
/// run the same kernel.
public protocol ProcessView: AnyObject {
    func register(_ register: Register) -> UInt32
    func setRegister(_ register: Register, _ value: UInt32)
    /// Guest bytes at a (virtual) address, or nil if any is not memory.
    func readGuest(_ address: UInt32, count: Int) -> [UInt8]?
    /// Writes guest bytes; false if any is not memory (then nothing need be written).
    func writeGuest(_ bytes: [UInt8], at address: UInt32) -> Bool
}

/// A minimal Linux kernel for user programs: the handful of RV32 system calls the test guests
/// use, done by the host. ECALL with the number in a7 and arguments in a0..a5; the result (or
/// -errno) goes to a0.
///
/// read (fd 0, from `input`), write and writev (fds 1 and 2, into `output`), exit and exit_group,
/// brk (within the heap the layout reserves), set_tid_address and getpid (1). Every other number
/// returns -ENOSYS, as Linux does for a call it does not have.
public struct LinuxSystemCalls: Sendable {
    public enum Outcome: Equatable, Sendable {
        case resume
        case exit(code: Int32)
    }

    /// Everything written to fds 1 and 2, in order.
    public private(set) var output: [UInt8] = []
    public private(set) var input: [UInt8]
    private var inputOffset = 0
    public private(set) var programBreak: UInt32
    public let heapStart: UInt32
    public let heapLimit: UInt32

    static let enosys: Int32 = 38, ebadf: Int32 = 9, efault: Int32 = 14, einval: Int32 = 22

    public init(heapStart: UInt32, heapLimit: UInt32, input: [UInt8]) {
        self.heapStart = heapStart
        self.heapLimit = heapLimit
        programBreak = heapStart
        self.input = input
    }

    public init(for program: GuestProgram) {
        self.init(heapStart: program.imageEnd, heapLimit: program.imageEnd + LabLayout.heapSize, input: program.input)
    }

    /// Performs the system call the process asked for. The caller moves pc past the ECALL.
    public mutating func handle(_ process: some ProcessView) -> Outcome {
        let number = process.register(.a7)
        let a0 = process.register(.a0), a1 = process.register(.a1), a2 = process.register(Register(12))
        func result(_ value: Int32) { process.setRegister(.a0, UInt32(bitPattern: value)) }
        switch number {
        case 63:  // read(fd, buffer, count)
            guard a0 == 0 else { result(-Self.ebadf); return .resume }
            let count = min(Int(a2), input.count - inputOffset)
            let bytes = Array(input[inputOffset..<inputOffset + count])
            guard process.writeGuest(bytes, at: a1) else { result(-Self.efault); return .resume }
            inputOffset += count
            result(Int32(count))
        case 64:  // write(fd, buffer, count)
            guard a0 == 1 || a0 == 2 else { result(-Self.ebadf); return .resume }
            guard let bytes = process.readGuest(a1, count: Int(min(a2, 1 << 24))) else { result(-Self.efault); return .resume }
            output += bytes
            result(Int32(bytes.count))
        case 66:  // writev(fd, iov, iovcnt)
            guard a0 == 1 || a0 == 2 else { result(-Self.ebadf); return .resume }
            guard a2 <= 1024 else { result(-Self.einval); return .resume }
            var total: Int32 = 0
            for index in 0..<a2 {
                guard let vector = process.readGuest(a1 &+ index * 8, count: 8) else { result(-Self.efault); return .resume }
                let base = littleEndianWord(vector, 0), length = littleEndianWord(vector, 4)
                guard let bytes = process.readGuest(base, count: Int(min(length, 1 << 24))) else { result(-Self.efault); return .resume }
                output += bytes
                total &+= Int32(bytes.count)
            }
            result(total)
        case 93, 94:  // exit, exit_group: the status is the low 8 bits, as wait() reports it
            return .exit(code: Int32(a0 & 0xFF))
        case 96:  // set_tid_address: returns the thread id
            result(1)
        case 172:  // getpid
            result(1)
        case 214:  // brk(address): moves the break within the heap; always returns the break
            if a0 >= heapStart && a0 <= heapLimit {
                // Memory given back and taken again reads as zero, as on Linux.
                if a0 < programBreak {
                    _ = process.writeGuest([UInt8](repeating: 0, count: Int(programBreak - a0)), at: a0)
                }
                programBreak = a0
            }
            result(Int32(bitPattern: programBreak))
        default:
            result(-Self.enosys)
        }
        return .resume
    }
}

@inline(__always)
func littleEndianWord(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
}
