import HypervisorCore
import Machine

/// The firmware interface the VMM serves for a hardware-assisted guest: the ECALLs the shipped
/// kernel makes to its M-mode firmware (Sources/VLabCLI/Guests/kernel/sbi.h, modelled on the RISC-V
/// SBI legacy calls). A hypervisor on the H extension is expected to provide the SBI to its VS-mode
/// guests (privileged spec, H chapter: "An HS-mode hypervisor is expected to implement the SBI for
/// its VS-mode guest"), so a call costs one exit instead of the firmware's trap handler running
/// with each of its M-mode CSR accesses emulated.
///
/// The semantics are the firmware's own (firmware.c): the same timer, console and finisher
/// effects, on the guest's emulated devices and virtual timer.
extension HardwareAssistedGuest {
    enum FirmwareCall {
        static let setTimer: UInt32 = 0   // a0 = low, a1 = high word of the absolute mtime deadline
        static let putCharacter: UInt32 = 1
        static let shutdown: UInt32 = 8   // a0 = exit status
    }

    /// Serves the ECALL at pc if it is one of the firmware calls; false leaves it to the guest's
    /// own firmware (virtual M-mode).
    func serveFirmwareCall() -> Bool {
        let function = vcpu.register(17), a0 = vcpu.register(10), a1 = vcpu.register(11)
        switch function {
        case FirmwareCall.setTimer:
            vcpu.timer.mtimecmp = UInt64(a1) << 32 | UInt64(a0)
            // The tick the kernel just handled is no longer pending; the next one will reach the VMM.
            vcpu.csrs.mip &= ~InterruptBits.supervisorTimer
            vcpu.csrs.mie |= InterruptBits.machineTimer
        case FirmwareCall.putCharacter:
            _ = devices.write(EmulatedDevices.uartBase, size: 1, value: a0 & 0xFF, vcpu: &vcpu)
        case FirmwareCall.shutdown:
            // The firmware writes the finisher: 0x5555 for 0, else the status in its upper half.
            devices.requestExit(code: Int32(a0 & 0xFFFF))
        default:
            return false
        }
        vcpu.setRegister(10, 0)
        vcpu.pc &+= 4
        retireEmulated()
        firmwareCallsServed &+= 1
        return true
    }
}
