import Machine

/// The devices of the `virt` board as the guest sees them, emulated entirely in the VMM ("full
/// device emulation"): the shadow tables never map a device page, so every load or store to one
/// exits, and the VMM decodes the instruction and performs it here.
///
/// The guest gets its own UART, CLINT and test finisher; the real machine's devices are never
/// reached by guest code (the VMM writes the guest's console bytes wherever it is told to).
public final class EmulatedDevices {
    public static let uartBase: UInt32 = 0x1000_0000, uartSize: UInt32 = 0x100
    public static let clintBase: UInt32 = 0x0200_0000, clintSize: UInt32 = 0x1_0000
    public static let finisherBase: UInt32 = 0x0010_0000, finisherSize: UInt32 = 0x1000

    public let uart: EmulatedUART
    /// Set when the guest wrote a stop request to the finisher: its exit code.
    public private(set) var exitCode: Int32? = nil

    public init(console: ConsoleIO) {
        uart = EmulatedUART(console: console)
    }

    /// Stops the guest as a finisher write would (for a shutdown hypercall).
    public func requestExit(code: Int32) { exitCode = code }

    /// Whether a device answers at this guest-physical address.
    public func claims(_ address: UInt32) -> Bool {
        address &- EmulatedDevices.uartBase < EmulatedDevices.uartSize
            || address &- EmulatedDevices.clintBase < EmulatedDevices.clintSize
            || address &- EmulatedDevices.finisherBase < EmulatedDevices.finisherSize
    }

    /// A `size`-byte device load; nil if no device register is there.
    public func read(_ address: UInt32, size: Int, vcpu: inout VirtualCPU) -> UInt32? {
        if address &- EmulatedDevices.uartBase < EmulatedDevices.uartSize {
            return UInt32(uart.read(offset: address &- EmulatedDevices.uartBase))
        }
        if address &- EmulatedDevices.clintBase < EmulatedDevices.clintSize {
            return EmulatedCLINT.read(offset: address &- EmulatedDevices.clintBase, size: size, vcpu: vcpu)
        }
        if address &- EmulatedDevices.finisherBase < EmulatedDevices.finisherSize { return 0 }
        return nil
    }

    /// A `size`-byte device store; false if no device register is there.
    public func write(_ address: UInt32, size: Int, value: UInt32, vcpu: inout VirtualCPU) -> Bool {
        if address &- EmulatedDevices.uartBase < EmulatedDevices.uartSize {
            uart.write(offset: address &- EmulatedDevices.uartBase, UInt8(truncatingIfNeeded: value))
            return true
        }
        if address &- EmulatedDevices.clintBase < EmulatedDevices.clintSize {
            return EmulatedCLINT.write(offset: address &- EmulatedDevices.clintBase, size: size, value: value, vcpu: &vcpu)
        }
        if address &- EmulatedDevices.finisherBase < EmulatedDevices.finisherSize {
            // sifive_test: 0x5555 pass, 0x3333 | code << 16 fail with code, 0x7777 reset (stop, 0).
            if address == EmulatedDevices.finisherBase && size == 4 {
                switch value & 0xFFFF {
                case 0x5555, 0x7777: exitCode = 0
                case 0x3333: exitCode = Int32(value >> 16)
                default: break
                }
            }
            return true
        }
        return false
    }
}

/// The CLINT registers over the virtual CPU's timer: msip at +0, mtimecmp at +0x4000, mtime at +0xBFF8.
enum EmulatedCLINT {
    static func read(offset: UInt32, size: Int, vcpu: VirtualCPU) -> UInt32? {
        let register: UInt64, registerOffset: UInt32
        switch offset {
        case 0..<4: (register, registerOffset) = (UInt64(vcpu.timer.msip), 0)
        case 0x4000..<0x4008: (register, registerOffset) = (vcpu.timer.mtimecmp, 0x4000)
        case 0xBFF8..<0xC000: (register, registerOffset) = (vcpu.mtime, 0xBFF8)
        default: return nil
        }
        let mask: UInt64 = size >= 8 ? .max : (1 << (UInt64(size) * 8)) - 1
        return UInt32(truncatingIfNeeded: register >> UInt64((offset - registerOffset) * 8) & mask)
    }

    static func write(offset: UInt32, size: Int, value: UInt32, vcpu: inout VirtualCPU) -> Bool {
        func merged(_ old: UInt64, at registerOffset: UInt32) -> UInt64 {
            let shift = UInt64(offset - registerOffset) * 8
            let mask: UInt64 = (size >= 8 ? .max : (1 << (UInt64(size) * 8)) - 1) << shift
            return old & ~mask | UInt64(value) << shift & mask
        }
        switch offset {
        case 0..<4: vcpu.timer.msip = UInt32(truncatingIfNeeded: merged(UInt64(vcpu.timer.msip), at: 0)) & 1
        case 0x4000..<0x4008: vcpu.timer.mtimecmp = merged(vcpu.timer.mtimecmp, at: 0x4000)
        case 0xBFF8..<0xC000: vcpu.timer.setMtime(merged(vcpu.mtime, at: 0xBFF8), retired: vcpu.retired)
        default: return false
        }
        return true
    }
}

/// A 16550 UART as QEMU `virt` has it (byte registers, no shift): THR/RBR, IER, IIR/FCR, LCR with
/// the divisor latch, MCR, LSR, MSR, SCR. Transmission is instantaneous; input is polled from the
/// console when the guest looks at LSR or RBR. No interrupt line (the board model has no PLIC).
public final class EmulatedUART {
    public var console: ConsoleIO
    private var received: UInt8? = nil
    private var interruptEnable: UInt8 = 0
    private var lineControl: UInt8 = 0
    private var modemControl: UInt8 = 0
    private var scratch: UInt8 = 0
    private var divisor: UInt16 = 0
    private var fifoEnabled = false

    public init(console: ConsoleIO) { self.console = console }

    private var divisorLatchAccess: Bool { lineControl & 0x80 != 0 }
    private func poll() { if received == nil { received = console.read() } }

    public func read(offset: UInt32) -> UInt8 {
        switch offset {
        case 0:
            if divisorLatchAccess { return UInt8(truncatingIfNeeded: divisor) }
            poll()
            defer { received = nil }
            return received ?? 0
        case 1: return divisorLatchAccess ? UInt8(truncatingIfNeeded: divisor >> 8) : interruptEnable
        case 2:
            let fifo: UInt8 = fifoEnabled ? 0xC0 : 0
            poll()
            if interruptEnable & 1 != 0 && received != nil { return fifo | 0x04 }
            if interruptEnable & 2 != 0 { return fifo | 0x02 }
            return fifo | 0x01
        case 3: return lineControl
        case 4: return modemControl
        case 5:
            poll()
            return 0x60 | (received != nil ? 1 : 0)  // THRE | TEMT, DR when a byte waits
        case 6: return modemControl & 0x10 != 0 ? (modemControl & 0x0F) << 4 : 0xB0
        case 7: return scratch
        default: return 0
        }
    }

    public func write(offset: UInt32, _ value: UInt8) {
        switch offset {
        case 0:
            if divisorLatchAccess { divisor = divisor & 0xFF00 | UInt16(value) } else { console.write(value) }
        case 1:
            if divisorLatchAccess { divisor = divisor & 0x00FF | UInt16(value) << 8 } else { interruptEnable = value & 0x0F }
        case 2: fifoEnabled = value & 1 != 0
        case 3: lineControl = value
        case 4: modemControl = value & 0x1F
        case 7: scratch = value
        default: break
        }
    }
}
