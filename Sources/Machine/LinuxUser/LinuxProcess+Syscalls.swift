import RISCV

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The system calls. Each handler does the work and says how the trace shows the call: the
/// argument list as `qemu-riscv32 -strace` prints it, and the result (a negative errno is shown
/// as `-1 errno=N (text)`).
extension LinuxProcess {
    /// What a system call returns to the dispatcher.
    struct SyscallOutcome {
        /// The value for a0: the result, or a negated errno.
        var result: UInt32
        /// The trace's argument list, between the parentheses.
        var arguments: String
        /// How the trace shows a successful result; nil means decimal.
        var resultText: String? = nil

        static func failure(_ errno: LinuxErrno, _ arguments: String) -> SyscallOutcome {
            SyscallOutcome(result: UInt32(bitPattern: -errno.value), arguments: arguments)
        }
    }

    private func argument(_ index: UInt8) -> UInt32 { machine.register(Register(10 + index)) }

    /// ECALL from U-mode: a7 holds the number, a0...a5 the arguments; the result goes to a0 and
    /// execution continues after the ECALL. Returns how the process ended, if it did.
    func systemCall() -> LinuxExit? {
        let number = machine.register(Register(17))
        let a = (0..<6).map { argument(UInt8($0)) }
        let outcome: SyscallOutcome
        switch number {
        case LinuxSyscall.exit, LinuxSyscall.exitGroup:
            // One thread, so exit and exit_group both end the process. The status is 8 bits wide.
            let status = Int32(bitPattern: a[0])
            strace?("\(LinuxSyscall.name(number))(\(status))")
            return .exited(status: status & 0xFF)
        case LinuxSyscall.read: outcome = read(a)
        case LinuxSyscall.write: outcome = write(a)
        case LinuxSyscall.writev: outcome = writev(a)
        case LinuxSyscall.openat: outcome = openat(a)
        case LinuxSyscall.close: outcome = close(a)
        case LinuxSyscall.llseek: outcome = llseek(a)
        case LinuxSyscall.fstat64: outcome = fstat64(a)
        case LinuxSyscall.brk:
            let result = memory.setBreak(a[0])
            outcome = SyscallOutcome(result: result, arguments: Trace.pointer(a[0]), resultText: Trace.pointer(result))
        case LinuxSyscall.clockGettime64: outcome = clockGettime64(a)
        case LinuxSyscall.getpid:
            outcome = SyscallOutcome(result: UInt32(LinuxProcess.processID), arguments: "")
        case LinuxSyscall.uname: outcome = uname(a)
        case LinuxSyscall.setTidAddress:
            clearChildTID = a[0]
            outcome = SyscallOutcome(result: UInt32(LinuxProcess.processID), arguments: Trace.rawArguments(a))
        default:
            outcome = .failure(.ENOSYS, Trace.rawArguments(a))
        }
        machine.setRegister(Register(10), outcome.result)
        machine.pc &+= 4
        if let strace {
            let signed = Int32(bitPattern: outcome.result)
            let shown = (-4095 ..< 0).contains(signed) && number != LinuxSyscall.brk
                ? "-1 errno=\(-signed) (\(LinuxErrno(value: -signed).text))"
                : outcome.resultText ?? String(signed)
            strace("\(LinuxSyscall.name(number))(\(outcome.arguments)) = \(shown)")
        }
        return nil
    }

    // MARK: Files

    private func read(_ a: [UInt32]) -> SyscallOutcome {
        let fd = Int32(bitPattern: a[0]), buffer = a[1], count = Int(a[2])
        let shown = "\(fd),\(Trace.alternateHex(buffer)),\(Int32(bitPattern: a[2]))"
        if let e = memory.checkWritable(buffer, count: count) { return .failure(e, shown) }
        guard let host = files.hostDescriptor(for: fd) else { return .failure(.EBADF, shown) }
        switch HostFiles.read(host, count: count) {
        case .failure(let e): return .failure(e, shown)
        case .success(let bytes):
            if let e = memory.copyOut(bytes, to: buffer) { return .failure(e, shown) }
            return SyscallOutcome(result: UInt32(bytes.count), arguments: shown)
        }
    }

    private func write(_ a: [UInt32]) -> SyscallOutcome {
        let fd = Int32(bitPattern: a[0]), buffer = a[1], count = Int(a[2])
        let shown = "\(fd),\(Trace.alternateHex(buffer)),\(Int32(bitPattern: a[2]))"
        let bytes: [UInt8]
        switch memory.copyIn(from: buffer, count: count) {
        case .failure(let e): return .failure(e, shown)
        case .success(let b): bytes = b
        }
        guard let host = files.hostDescriptor(for: fd) else { return .failure(.EBADF, shown) }
        switch HostFiles.write(host, bytes) {
        case .failure(let e): return .failure(e, shown)
        case .success(let n): return SyscallOutcome(result: UInt32(n), arguments: shown)
        }
    }

    /// writev: the pieces are gathered and written with one host write, so they stay together
    /// in the output as the one call promises.
    private func writev(_ a: [UInt32]) -> SyscallOutcome {
        let fd = Int32(bitPattern: a[0]), vector = a[1], count = Int32(bitPattern: a[2])
        let shown = "\(fd),\(a[1] == 0 ? "(nil)" : "0x" + String(a[1], radix: 16)),\(Trace.alternateHex(a[2]))"
        guard count >= 0, count <= 1024 else { return .failure(.EINVAL, shown) }  // IOV_MAX
        var gathered: [UInt8] = []
        for i in 0..<UInt32(count) {
            guard case .success(let base) = memory.readWord(at: vector &+ 8 * i),
                  case .success(let length) = memory.readWord(at: vector &+ 8 * i &+ 4) else {
                return .failure(.EFAULT, shown)
            }
            guard Int(length) + gathered.count <= Int(Int32.max) else { return .failure(.EINVAL, shown) }
            switch memory.copyIn(from: base, count: Int(length)) {
            case .failure(let e): return .failure(e, shown)
            case .success(let bytes): gathered += bytes
            }
        }
        guard let host = files.hostDescriptor(for: fd) else { return .failure(.EBADF, shown) }
        if gathered.isEmpty { return SyscallOutcome(result: 0, arguments: shown) }
        switch HostFiles.write(host, gathered) {
        case .failure(let e): return .failure(e, shown)
        case .success(let n): return SyscallOutcome(result: UInt32(n), arguments: shown)
        }
    }

    private func openat(_ a: [UInt32]) -> SyscallOutcome {
        let directory = Int32(bitPattern: a[0]), flags = a[2], mode = a[3]
        let directoryShown = directory == -100 ? "AT_FDCWD" : String(directory)
        let path: [UInt8]
        switch memory.readString(at: a[1], limit: 4096) {
        case .failure(let e):
            return .failure(e, "\(directoryShown),0x\(hex(a[1])),\(GuestOpenFlags.describe(flags))")
        case .success(let p): path = p
        }
        var shown = "\(directoryShown),\"\(String(decoding: path, as: UTF8.self))\",\(GuestOpenFlags.describe(flags))"
        if flags & (GuestOpenFlags.create | GuestOpenFlags.temporaryFile) != 0 {
            shown += "," + (mode == 0 ? "0" : "0" + String(mode, radix: 8))
        }
        let hostDirectory: Int32
        if directory == -100 {
            hostDirectory = HostFiles.currentDirectory
        } else if let host = files.hostDescriptor(for: directory) {
            hostDirectory = host
        } else if path.first == UInt8(ascii: "/") {
            hostDirectory = HostFiles.currentDirectory  // an absolute path ignores the directory
        } else {
            return .failure(.EBADF, shown)
        }
        let hostFlags: Int32
        switch GuestOpenFlags.hostFlags(flags) {
        case .failure(let e): return .failure(e, shown)
        case .success(let f): hostFlags = f
        }
        switch HostFiles.openat(hostDirectory, path, flags: hostFlags, mode: mode & 0o7777) {
        case .failure(let e): return .failure(e, shown)
        case .success(let host):
            guard let fd = files.install(hostDescriptor: host, owned: true) else {
                _ = HostFiles.close(host)
                return .failure(.EMFILE, shown)
            }
            return SyscallOutcome(result: UInt32(fd), arguments: shown)
        }
    }

    private func close(_ a: [UInt32]) -> SyscallOutcome {
        let fd = Int32(bitPattern: a[0])
        let shown = String(fd)
        guard let entry = files.remove(fd) else { return .failure(.EBADF, shown) }
        if entry.ownsHostDescriptor, case .failure(let e) = HostFiles.close(entry.hostDescriptor) {
            return .failure(e, shown)  // the descriptor is gone anyway, as on Linux
        }
        return SyscallOutcome(result: 0, arguments: shown)
    }

    /// _llseek(fd, offset_high, offset_low, result, whence): the 64-bit offset in two registers,
    /// the new position stored as a 64-bit value at `result`.
    private func llseek(_ a: [UInt32]) -> SyscallOutcome {
        let fd = Int32(bitPattern: a[0])
        let whence = a[4]
        let whenceNames = ["SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE"]
        let shown = "\(fd),\(a[1]),\(a[2]),\(Trace.pointer(a[3])),"
            + (whence < 5 ? whenceNames[Int(whence)] : "UNKNOWN")
        let offset = Int64(bitPattern: UInt64(a[1]) << 32 | UInt64(a[2]))
        guard let host = files.hostDescriptor(for: fd) else { return .failure(.EBADF, shown) }
        let hostWhence: Int32
        switch whence {
        case 0: hostWhence = SEEK_SET
        case 1: hostWhence = SEEK_CUR
        case 2: hostWhence = SEEK_END
        default: return .failure(.EINVAL, shown)  // SEEK_DATA/SEEK_HOLE are not passed on
        }
        switch HostFiles.seek(host, offset: offset, whence: hostWhence) {
        case .failure(let e): return .failure(e, shown)
        case .success(let position):
            let p = UInt64(bitPattern: position)
            if let e = memory.copyOut((0..<8).map { UInt8(truncatingIfNeeded: p >> (8 * UInt64($0))) }, to: a[3]) {
                return .failure(e, shown)
            }
            return SyscallOutcome(result: 0, arguments: shown)
        }
    }

    /// fstat64: the host's `struct stat` in RV32 Linux's `struct stat64` layout (asm-generic, 104 bytes).
    private func fstat64(_ a: [UInt32]) -> SyscallOutcome {
        let fd = Int32(bitPattern: a[0])
        let shown = "\(fd),\(Trace.pointer(a[1]))"
        guard let host = files.hostDescriptor(for: fd) else { return .failure(.EBADF, shown) }
        switch HostFiles.status(host) {
        case .failure(let e): return .failure(e, shown)
        case .success(let s):
            var record = StructWriter(size: 104)
            record.put64(UInt64(truncatingIfNeeded: s.st_dev), at: 0)
            record.put64(UInt64(truncatingIfNeeded: s.st_ino), at: 8)
            record.put32(UInt32(truncatingIfNeeded: s.st_mode), at: 16)
            record.put32(UInt32(truncatingIfNeeded: s.st_nlink), at: 20)
            record.put32(UInt32(truncatingIfNeeded: s.st_uid), at: 24)
            record.put32(UInt32(truncatingIfNeeded: s.st_gid), at: 28)
            record.put64(UInt64(truncatingIfNeeded: s.st_rdev), at: 32)
            record.put64(UInt64(truncatingIfNeeded: s.st_size), at: 48)
            record.put32(UInt32(truncatingIfNeeded: s.st_blksize), at: 56)
            record.put64(UInt64(truncatingIfNeeded: s.st_blocks), at: 64)
            let times = HostFiles.times(s)
            for (i, t) in [times.access, times.modification, times.change].enumerated() {
                record.put32(UInt32(truncatingIfNeeded: t.seconds), at: 72 + 8 * i)
                record.put32(UInt32(truncatingIfNeeded: t.nanoseconds), at: 76 + 8 * i)
            }
            if let e = memory.copyOut(record.bytes, to: a[1]) { return .failure(e, shown) }
            return SyscallOutcome(result: 0, arguments: shown)
        }
    }

    // MARK: Time and identity

    /// clock_gettime64: a 64-bit seconds, 64-bit nanoseconds `struct __kernel_timespec`. Every
    /// clock reads the machine's `time` CSR: guest time advances with retired instructions, so a
    /// run repeats exactly.
    private func clockGettime64(_ a: [UInt32]) -> SyscallOutcome {
        let clock = Int32(bitPattern: a[0])
        let clockNames = ["CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
                          "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME",
                          "CLOCK_REALTIME_ALARM", "CLOCK_BOOTTIME_ALARM", "CLOCK_SGI_CYCLE", "CLOCK_TAI"]
        let shown = "\((0..<12).contains(clock) ? clockNames[Int(clock)] : String(clock)),\(Trace.pointer(a[1]))"
        // Linux's valid clock ids; 10 (SGI_CYCLE) was removed, negative ids name CPU-time clocks of
        // other processes and threads, which this one-process kernel does not have.
        guard (0...11).contains(clock), clock != 10 else { return .failure(.EINVAL, shown) }
        let high = machine.readCSR(0xC81), low = machine.readCSR(0xC01)
        let ticks = UInt64(high) << 32 | UInt64(low)
        let sinceBoot = ticks.multipliedReportingOverflow(by: LinuxProcess.nanosecondsPerTick).partialValue
        var seconds = Int64(sinceBoot / 1_000_000_000)
        let nanoseconds = Int64(sinceBoot % 1_000_000_000)
        if clock == 0 || clock == 5 || clock == 8 || clock == 11 { seconds += LinuxProcess.realtimeEpoch }
        var record = StructWriter(size: 16)
        record.put64(UInt64(bitPattern: seconds), at: 0)
        record.put64(UInt64(bitPattern: nanoseconds), at: 8)
        if let e = memory.copyOut(record.bytes, to: a[1]) { return .failure(e, shown) }
        return SyscallOutcome(result: 0, arguments: shown, resultText: "0 ({tv_sec = \(seconds),tv_nsec = \(nanoseconds)})")
    }

    /// The `time` CSR counts at QEMU virt's 10 MHz timebase.
    static let nanosecondsPerTick: UInt64 = 100
    /// CLOCK_REALTIME at boot: 2025-01-01 00:00:00 UTC.
    static let realtimeEpoch: Int64 = 1_735_689_600

    private func uname(_ a: [UInt32]) -> SyscallOutcome {
        let shown = Trace.alternateHex(a[0])
        let fields = ["Linux", "vlab", "6.1.0-vlab", "#1 SMP VirtLab", "riscv32", "(none)"]
        var record = StructWriter(size: 65 * 6)
        for (i, field) in fields.enumerated() { record.put(Array(field.utf8), at: 65 * i) }
        if let e = memory.copyOut(record.bytes, to: a[0]) { return .failure(e, shown) }
        return SyscallOutcome(result: 0, arguments: shown)
    }
}

/// Little-endian fields into a fixed-size record, for structures copied out to the process.
struct StructWriter {
    var bytes: [UInt8]
    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }
    mutating func put32(_ value: UInt32, at offset: Int) {
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
    }
    mutating func put64(_ value: UInt64, at offset: Int) {
        for k in 0..<8 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
    }
    mutating func put(_ data: [UInt8], at offset: Int) {
        bytes.replaceSubrange(offset ..< offset + data.count, with: data)
    }
}

/// How `qemu-riscv32 -strace` prints arguments, so a trace from vlab reads like one from qemu.
enum Trace {
    /// A pointer: `NULL`, or eight hex digits (`0x000111fc`).
    static func pointer(_ value: UInt32) -> String { value == 0 ? "NULL" : "0x" + hex(value) }
    /// C's `%#x`: `0` for zero, `0x1a2b` otherwise.
    static func alternateHex(_ value: UInt32) -> String { value == 0 ? "0" : "0x" + String(value, radix: 16) }
    /// The six argument registers as signed decimals, for calls with no special format.
    static func rawArguments(_ a: [UInt32]) -> String {
        a.map { String(Int32(bitPattern: $0)) }.joined(separator: ",")
    }
}
