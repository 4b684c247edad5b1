/// QEMU's `sifive_test` device at `0x0010_0000`: a 32-bit write to offset 0 ends the run.
/// The low 16 bits say how: 0x5555 = pass (exit 0), 0x3333 = fail with exit code `value >> 16`,
/// 0x7777 = reset. VirtLab has no reboot, so a reset request ends the run with exit code 0
/// (the guest asked to stop running its current program; a board reset would start it again).
/// Other values are ignored, as QEMU ignores them. Reads return 0.
enum TestFinisher {
    static let base: UInt32 = 0x0010_0000
    static let size: UInt32 = 0x1000

    static func exitCode(forWrite value: UInt32) -> Int32? {
        switch value & 0xFFFF {
        case 0x5555: return 0
        case 0x3333: return Int32(value >> 16)
        case 0x7777: return 0
        default: return nil
        }
    }
}
