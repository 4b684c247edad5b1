/// A 16550-compatible UART, as on QEMU `virt` at `0x1000_0000` (one byte per register, no
/// register shift). Enough of it for typical polled and interrupt-driven drivers: THR/RBR, IER,
/// IIR/FCR, LCR (with DLAB and the divisor latch), MCR, LSR (DR, THRE, TEMT), MSR, SCR.
///
/// Transmission is instantaneous: THR is always empty. Reception polls the console only when the
/// guest reads LSR or RBR, so an idle guest costs no host system calls. The board has no interrupt
/// controller (no PLIC), so the IIR reports interrupt conditions but no interrupt line is raised.
final class UART16550 {
    static let base: UInt32 = 0x1000_0000
    static let size: UInt32 = 0x100

    var console: ConsoleIO
    var receiveBuffer: UInt8? = nil
    var interruptEnable: UInt8 = 0
    var lineControl: UInt8 = 0
    var modemControl: UInt8 = 0
    var scratch: UInt8 = 0
    var divisorLatch: UInt16 = 0
    var fifoEnabled = false

    init(console: ConsoleIO) { self.console = console }

    private var divisorLatchAccess: Bool { lineControl & 0x80 != 0 }

    private func pollInput() {
        if receiveBuffer == nil { receiveBuffer = console.read() }
    }

    func read(offset: UInt32) -> UInt8 {
        switch offset {
        case 0:
            if divisorLatchAccess { return UInt8(truncatingIfNeeded: divisorLatch) }
            pollInput()
            let byte = receiveBuffer ?? 0
            receiveBuffer = nil
            return byte
        case 1:
            return divisorLatchAccess ? UInt8(truncatingIfNeeded: divisorLatch >> 8) : interruptEnable
        case 2:
            // Interrupt identification: received data (0x4) beats transmitter empty (0x2); 0x1 = none.
            let fifoBits: UInt8 = fifoEnabled ? 0xC0 : 0
            pollInput()
            if interruptEnable & 0x1 != 0 && receiveBuffer != nil { return fifoBits | 0x04 }
            if interruptEnable & 0x2 != 0 { return fifoBits | 0x02 }
            return fifoBits | 0x01
        case 3: return lineControl
        case 4: return modemControl
        case 5:
            pollInput()
            // THRE (bit 5) and TEMT (bit 6): the transmitter is always empty. DR (bit 0): a byte waits.
            return 0x60 | (receiveBuffer != nil ? 0x01 : 0)
        case 6:
            // Modem status: in loopback the outputs feed back; otherwise report CTS, DSR and DCD.
            return modemControl & 0x10 != 0 ? (modemControl & 0x0F) << 4 : 0xB0
        case 7: return scratch
        default: return 0
        }
    }

    func write(offset: UInt32, _ value: UInt8) {
        switch offset {
        case 0:
            if divisorLatchAccess {
                divisorLatch = divisorLatch & 0xFF00 | UInt16(value)
            } else {
                console.write(value)
            }
        case 1:
            if divisorLatchAccess {
                divisorLatch = divisorLatch & 0x00FF | UInt16(value) << 8
            } else {
                interruptEnable = value & 0x0F
            }
        case 2: fifoEnabled = value & 1 != 0
        case 3: lineControl = value
        case 4: modemControl = value & 0x1F
        case 7: scratch = value
        default: break  // LSR and MSR are read-only
        }
    }
}
