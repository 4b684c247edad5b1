import HypervisorCore
import Machine

/// Trap-and-emulate: the unmodified guest kernel runs in U-mode of the hart under shadow paging;
/// `PrivilegedInstructionEmulator` emulates everything that traps.
public struct TrapAndEmulateMode: VMMModeImplementation {
    /// Frames the VMM reserves for one guest's shadow page tables (1 MiB).
    public static let shadowFrames = 256

    public init() {}

    public func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult {
        let vm = try GuestHost.makeGuest(request, handler: PrivilegedInstructionEmulator())
        let result = vm.run()
        return VMMBootResult(result: result, statistics: vm.statistics)
    }

    /// Nothing to change: Dom0 builds every domain as a trap-and-emulate guest.
    public func prepareDomain(_ vm: VirtualMachine) -> Bool { true }
}

/// Builds a machine that hosts one guest: the VMM's shadow-table pool first, the guest's
/// allotment after it, so guest-physical `0x8000_0000` is machine `0x8000_0000 + 1 MiB`: the p2m
/// is not the identity, and the tests can tell.
public enum GuestHost {
    public static func makeGuest(_ request: VMMBootRequest, handler: any ExitHandler) throws(HypervisorError) -> VirtualMachine {
        guard request.memorySize > 0, request.memorySize % 4096 == 0, request.memorySize <= 1 << 30 else {
            throw HypervisorError("\(request.name): guest memory of \(request.memorySize) bytes must be a positive multiple of 4 KiB, at most 1 GiB")
        }
        var configuration = MachineConfiguration()
        configuration.interceptUserTraps = true
        configuration.engine = request.engine
        configuration.ramSize = TrapAndEmulateMode.shadowFrames * 4096 + Int(request.memorySize)
        var guest = GuestConfiguration()
        guest.name = request.name
        guest.memorySize = request.memorySize
        guest.instructionsPerTimerTick = request.instructionsPerTimerTick
        guest.instructionBudget = request.instructionBudget
        do {
            let machine = try Machine(configuration: configuration)
            machine.console = .silent  // the real UART is the VMM's; the guest gets an emulated one
            var allocator = MachineFrameAllocator(ramSize: configuration.ramSize)
            let shadow = try allocator.allocate(TrapAndEmulateMode.shadowFrames, for: "\(request.name) shadow tables")
            let frames = try allocator.allocate(Int(request.memorySize / 4096), for: "\(request.name) memory")
            let vm = try VirtualMachine(configuration: guest, machine: machine, memoryFrames: frames, shadowFrames: shadow,
                                        console: request.console, handler: handler)
            try vm.load(request.image)
            return vm
        } catch let error as MachineError {
            throw HypervisorError("\(request.name): \(error)")
        } catch let error as AllotmentError {
            throw HypervisorError(error.message)
        } catch let error as GuestImageError {
            throw HypervisorError(error.message)
        } catch {
            throw HypervisorError("\(request.name): \(error)")
        }
    }
}
