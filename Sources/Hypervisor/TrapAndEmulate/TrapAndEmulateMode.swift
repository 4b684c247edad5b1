import HypervisorCore
import Machine

/// Trap-and-emulate: the unmodified guest kernel runs in U-mode of the hart under shadow paging;
/// `PrivilegedInstructionEmulator` emulates everything that traps.
public struct TrapAndEmulateMode: VMMModeImplementation {
    public init() {}

    public func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult {
        let vm = try GuestHost.makeGuest(request, handler: PrivilegedInstructionEmulator())
        let result = vm.run()
        return VMMBootResult(result: result, statistics: vm.statistics, notes: ["shadow pager: \(vm.pager.statistics.summary)"])
    }

    /// Nothing to change: Dom0 builds every domain as a trap-and-emulate guest.
    public func prepareDomain(_ vm: VirtualMachine) -> Bool { true }
}

/// Builds a machine hosting one guest for a boot request (see `VirtualMachine.hostingOne`).
public enum GuestHost {
    public static func makeGuest(_ request: VMMBootRequest, handler: any ExitHandler) throws(HypervisorError) -> VirtualMachine {
        var guest = GuestConfiguration()
        guest.name = request.name
        guest.memorySize = request.memorySize
        guest.instructionsPerTimerTick = request.instructionsPerTimerTick
        guest.instructionBudget = request.instructionBudget
        do {
            return try VirtualMachine.hostingOne(guest, image: request.image, machine: request.machineConfiguration, console: request.console,
                                                 handler: handler, pager: request.shadowPager)
        } catch {
            throw HypervisorError(error.message)
        }
    }
}
