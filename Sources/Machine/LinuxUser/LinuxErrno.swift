#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Error numbers as the RV32 Linux ABI defines them (asm-generic/errno-base.h and errno.h).
/// System calls return them negated in a0. The host may number them differently (macOS does),
/// so host errors are translated through `init(hostErrno:)`, never passed through raw.
struct LinuxErrno: Error, Equatable, Sendable {
    let value: Int32

    static let EPERM = LinuxErrno(value: 1)
    static let ENOENT = LinuxErrno(value: 2)
    static let EINTR = LinuxErrno(value: 4)
    static let EIO = LinuxErrno(value: 5)
    static let ENXIO = LinuxErrno(value: 6)
    static let E2BIG = LinuxErrno(value: 7)
    static let EBADF = LinuxErrno(value: 9)
    static let EAGAIN = LinuxErrno(value: 11)
    static let ENOMEM = LinuxErrno(value: 12)
    static let EACCES = LinuxErrno(value: 13)
    static let EFAULT = LinuxErrno(value: 14)
    static let EBUSY = LinuxErrno(value: 16)
    static let EEXIST = LinuxErrno(value: 17)
    static let EXDEV = LinuxErrno(value: 18)
    static let ENODEV = LinuxErrno(value: 19)
    static let ENOTDIR = LinuxErrno(value: 20)
    static let EISDIR = LinuxErrno(value: 21)
    static let EINVAL = LinuxErrno(value: 22)
    static let ENFILE = LinuxErrno(value: 23)
    static let EMFILE = LinuxErrno(value: 24)
    static let ENOTTY = LinuxErrno(value: 25)
    static let ETXTBSY = LinuxErrno(value: 26)
    static let EFBIG = LinuxErrno(value: 27)
    static let ENOSPC = LinuxErrno(value: 28)
    static let ESPIPE = LinuxErrno(value: 29)
    static let EROFS = LinuxErrno(value: 30)
    static let EMLINK = LinuxErrno(value: 31)
    static let EPIPE = LinuxErrno(value: 32)
    static let ERANGE = LinuxErrno(value: 34)
    static let ENAMETOOLONG = LinuxErrno(value: 36)
    static let ENOSYS = LinuxErrno(value: 38)
    static let ELOOP = LinuxErrno(value: 40)
    static let EOVERFLOW = LinuxErrno(value: 75)
    static let EOPNOTSUPP = LinuxErrno(value: 95)
    static let EDQUOT = LinuxErrno(value: 122)

    /// The `strerror` text, as strace prints it after the number.
    var text: String {
        switch value {
        case 1: return "Operation not permitted"
        case 2: return "No such file or directory"
        case 4: return "Interrupted system call"
        case 5: return "Input/output error"
        case 6: return "No such device or address"
        case 7: return "Argument list too long"
        case 9: return "Bad file descriptor"
        case 11: return "Resource temporarily unavailable"
        case 12: return "Cannot allocate memory"
        case 13: return "Permission denied"
        case 14: return "Bad address"
        case 16: return "Device or resource busy"
        case 17: return "File exists"
        case 18: return "Invalid cross-device link"
        case 19: return "No such device"
        case 20: return "Not a directory"
        case 21: return "Is a directory"
        case 22: return "Invalid argument"
        case 23: return "Too many open files in system"
        case 24: return "Too many open files"
        case 25: return "Inappropriate ioctl for device"
        case 26: return "Text file busy"
        case 27: return "File too large"
        case 28: return "No space left on device"
        case 29: return "Illegal seek"
        case 30: return "Read-only file system"
        case 31: return "Too many links"
        case 32: return "Broken pipe"
        case 34: return "Numerical result out of range"
        case 36: return "File name too long"
        case 38: return "Function not implemented"
        case 40: return "Too many levels of symbolic links"
        case 75: return "Value too large for defined data type"
        case 95: return "Operation not supported"
        case 122: return "Disk quota exceeded"
        default: return "Unknown error \(value)"
        }
    }

    /// The guest's number for an error the host reported. Host constants come from the host's C
    /// library, so this is right on Linux and macOS alike. An error with no RV32 counterpart in
    /// this table becomes EIO, the honest "the I/O failed" rather than a wrong specific reason.
    init(hostErrno: Int32) {
        let table: [(host: Int32, guest: LinuxErrno)] = [
            (hostEPERM, .EPERM), (hostENOENT, .ENOENT), (hostEINTR, .EINTR), (hostEIO, .EIO),
            (hostENXIO, .ENXIO), (hostE2BIG, .E2BIG), (hostEBADF, .EBADF), (hostEAGAIN, .EAGAIN),
            (hostENOMEM, .ENOMEM), (hostEACCES, .EACCES), (hostEFAULT, .EFAULT), (hostEBUSY, .EBUSY),
            (hostEEXIST, .EEXIST), (hostEXDEV, .EXDEV), (hostENODEV, .ENODEV), (hostENOTDIR, .ENOTDIR),
            (hostEISDIR, .EISDIR), (hostEINVAL, .EINVAL), (hostENFILE, .ENFILE), (hostEMFILE, .EMFILE),
            (hostENOTTY, .ENOTTY), (hostETXTBSY, .ETXTBSY), (hostEFBIG, .EFBIG), (hostENOSPC, .ENOSPC),
            (hostESPIPE, .ESPIPE), (hostEROFS, .EROFS), (hostEMLINK, .EMLINK), (hostEPIPE, .EPIPE),
            (hostERANGE, .ERANGE), (hostENAMETOOLONG, .ENAMETOOLONG), (hostENOSYS, .ENOSYS),
            (hostELOOP, .ELOOP), (hostEOVERFLOW, .EOVERFLOW), (hostEOPNOTSUPP, .EOPNOTSUPP),
            (hostEDQUOT, .EDQUOT),
        ]
        self = table.first { $0.host == hostErrno }?.guest ?? .EIO
    }

    init(value: Int32) { self.value = value }
}

// The host's errno constants under names that cannot collide with the guest's static members
// above (inside `LinuxErrno`, `EPERM` means the guest's value).
private let hostEPERM = EPERM, hostENOENT = ENOENT, hostEINTR = EINTR, hostEIO = EIO
private let hostENXIO = ENXIO, hostE2BIG = E2BIG, hostEBADF = EBADF, hostEAGAIN = EAGAIN
private let hostENOMEM = ENOMEM, hostEACCES = EACCES, hostEFAULT = EFAULT, hostEBUSY = EBUSY
private let hostEEXIST = EEXIST, hostEXDEV = EXDEV, hostENODEV = ENODEV, hostENOTDIR = ENOTDIR
private let hostEISDIR = EISDIR, hostEINVAL = EINVAL, hostENFILE = ENFILE, hostEMFILE = EMFILE
private let hostENOTTY = ENOTTY, hostETXTBSY = ETXTBSY, hostEFBIG = EFBIG, hostENOSPC = ENOSPC
private let hostESPIPE = ESPIPE, hostEROFS = EROFS, hostEMLINK = EMLINK, hostEPIPE = EPIPE
private let hostERANGE = ERANGE, hostENAMETOOLONG = ENAMETOOLONG, hostENOSYS = ENOSYS
private let hostELOOP = ELOOP, hostEOVERFLOW = EOVERFLOW, hostEOPNOTSUPP = EOPNOTSUPP
private let hostEDQUOT = EDQUOT
