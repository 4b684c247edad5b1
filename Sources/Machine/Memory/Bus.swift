/// The physical address map of QEMU's `virt` board, as far as VirtLab implements it:
///
///     0x0010_0000  sifive_test finisher   (4 KiB)
///     0x0200_0000  CLINT                  (64 KiB)
///     0x1000_0000  16550 UART             (256 bytes)
///     0x8000_0000  RAM                    (configuration.ramSize)
///
/// An access nothing answers is an access fault for the guest (a `BusError` for the host).
/// HTIF's `tohost` is a word in RAM; stores to it go through `busWrite` (the TLB never gives the
/// engine a direct pointer to the page holding it), which notices the exit request.
extension Machine {
    func deviceOrRAMExists(at address: UInt32) -> Bool {
        if ramOffset(address, count: 1) != nil { return true }
        return address &- UART16550.base < UART16550.size
            || address &- CLINT.base < CLINT.size
            || address &- TestFinisher.base < TestFinisher.size
    }

    /// Reads `size` (1, 2 or 4) bytes, zero-extended; nil = access fault.
    func busRead(_ address: UInt32, size: Int) -> UInt32? {
        if let offset = ramOffset(address, count: size) {
            switch size {
            case 1: return UInt32(ram.load(fromByteOffset: offset, as: UInt8.self))
            case 2: return UInt32(ram.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            default: return ram.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            }
        }
        if address &- UART16550.base < UART16550.size {
            return UInt32(uart.read(offset: address &- UART16550.base))
        }
        if address &- CLINT.base < CLINT.size {
            return clint.read(offset: address &- CLINT.base, size: size, retired: state.pointee.retired)
        }
        if address &- TestFinisher.base < TestFinisher.size { return 0 }
        return nil
    }

    /// Writes the low `size` bytes of `value`; false = access fault. A device may set `pendingStop`.
    func busWrite(_ address: UInt32, size: Int, value: UInt32) -> Bool {
        if let offset = ramOffset(address, count: size) {
            switch size {
            case 1: ram.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self)
            case 2: ram.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: offset, as: UInt16.self)
            default: ram.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
            }
            noteRAMWrite(offset, count: size)
            if let tohost = tohostAddress, address < tohost &+ 4, tohost < address &+ UInt32(size) {
                noticeTohostWrite(tohost)
            }
            return true
        }
        if address &- UART16550.base < UART16550.size {
            uart.write(offset: address &- UART16550.base, UInt8(truncatingIfNeeded: value))
            return true
        }
        if address &- CLINT.base < CLINT.size {
            return clint.write(offset: address &- CLINT.base, size: size, value: value, retired: state.pointee.retired)
        }
        if address &- TestFinisher.base < TestFinisher.size {
            if address == TestFinisher.base, size == 4, let code = TestFinisher.exitCode(forWrite: value) {
                pendingStop = .exited(code: code)
            }
            return true
        }
        return false
    }

    /// HTIF: an odd value in the low word of `tohost` is the ISA test suites' exit request
    /// (`value >> 1` is the exit code: 0 = pass, otherwise the failing test's number).
    /// The console commands of HTIF (device 1) are not implemented: on RV32 the 64-bit command is
    /// written as two words, and a putchar's odd low word would be indistinguishable from an exit.
    private func noticeTohostWrite(_ tohost: UInt32) {
        guard let offset = ramOffset(tohost, count: 4) else { return }
        let value = ram.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        if value & 1 != 0 {
            pendingStop = .exited(code: Int32(bitPattern: value >> 1))
        }
    }

    /// Brings the device-driven pending bits (MTIP from the CLINT's timer, MSIP from its msip
    /// register) up to date in `mip`.
    func refreshDevicePending() {
        var mip = state.pointee.mip & ~(InterruptBit.machineTimer | InterruptBit.machineSoftware)
        if clint.timerPending(retired: state.pointee.retired) { mip |= InterruptBit.machineTimer }
        if clint.msip & 1 != 0 { mip |= InterruptBit.machineSoftware }
        state.pointee.mip = mip
    }
}
