import HypervisorCore
import Machine

/// A host machine that implements the teaching ISA variant (`vlab.popie`), for guests built for
/// it: `GuestHost.makeGuest` with `MachineConfiguration.implementsTeachingPopie` set. (Requested
/// from `GuestHost` in the contract; until then the same layout is built here: the VMM's shadow
/// pool first, the guest's allotment after it.)
public enum TeachingVariantHost {
    public static func makeGuest(_ request: VMMBootRequest, handler: any ExitHandler) throws(HypervisorError) -> VirtualMachine {
        guard request.memorySize > 0, request.memorySize % 4096 == 0, request.memorySize <= 1 << 30 else {
            throw HypervisorError("\(request.name): guest memory of \(request.memorySize) bytes must be a positive multiple of 4 KiB, at most 1 GiB")
        }
        var configuration = MachineConfiguration()
        configuration.interceptUserTraps = true
        configuration.implementsTeachingPopie = true
        configuration.engine = request.engine
        configuration.ramSize = TrapAndEmulateMode.shadowFrames * 4096 + Int(request.memorySize)
        var guest = GuestConfiguration()
        guest.name = request.name
        guest.memorySize = request.memorySize
        guest.instructionsPerTimerTick = request.instructionsPerTimerTick
        guest.instructionBudget = request.instructionBudget
        do {
            let machine = try Machine(configuration: configuration)
            machine.console = .silent
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
