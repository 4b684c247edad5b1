import HypervisorCore
import Machine

/// `vlab boot --vmm hardware-assisted`: the unmodified guest on a hart with the RISC-V hypervisor
/// extension (see HardwareAssistedGuest for what exits and what does not).
public struct HardwareAssistedMode: VMMModeImplementation {
    public init() {}

    public func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult {
        let guest = try HardwareAssistedGuest(request)
        let result = guest.run()
        // The firmware's trap handler does not run for the calls the VMM serves, so the guest
        // retires fewer instructions than bare (the same kernel and processes, less firmware).
        return VMMBootResult(result: result, statistics: guest.statistics, notes: [
            "hardware-assisted: \(guest.firmwareCallsServed) firmware calls served by the VMM (sbi.h) instead of the guest's M-mode handler; no shadow page tables (two-stage translation in the hart)",
        ])
    }
}

extension VMMModeCatalog {
    public static var hardwareAssisted: (any VMMModeImplementation)? { HardwareAssistedMode() }
}
