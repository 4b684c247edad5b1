import HypervisorCore
import Machine

/// Binary translation: the guest kernel runs deprivileged as under trap-and-emulate, on a host
/// that implements the teaching ISA variant, and the VMM translates kernel code before it runs:
/// `PopieRewriter` turns each `vlab.popie` into a trapping word and emulates it on the exit. The
/// privileged instructions trap and are emulated by the trap-and-emulate reference as before.
public struct BinaryTranslationMode: VMMModeImplementation {
    public init() {}

    public func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult {
        var request = request
        prepareMachine(&request.machineConfiguration)
        let vm = try GuestHost.makeGuest(request, handler: PrivilegedInstructionEmulator())
        vm.rewriter = PopieRewriter(memory: vm.memory)
        let result = vm.run()
        return VMMBootResult(result: result, statistics: vm.statistics, notes: Self.notes(vm))
    }

    /// The host this mode exists for implements the teaching variant: there `vlab.popie` runs
    /// (silently doing nothing in U-mode) instead of trapping as an illegal instruction.
    public func prepareMachine(_ configuration: inout MachineConfiguration) {
        configuration.implementsTeachingPopie = true
    }

    /// A domain gets the rewriter too (on a host without the variant the rewrite still makes
    /// `vlab.popie` trap, so the kernel runs correctly there as well).
    public func prepareDomain(_ vm: VirtualMachine) -> Bool {
        vm.rewriter = PopieRewriter(memory: vm.memory)
        return true
    }

    /// The `--stats` line: what the translator looked at and changed.
    public static func notes(_ vm: VirtualMachine) -> [String] {
        let pages = vm.scannedInstructions / 1024
        return ["binary translation: scanned \(vm.scannedInstructions) instructions on \(pages) kernel code page\(pages == 1 ? "" : "s"), "
                + "rewrote \(vm.rewrittenInstructions) vlab.popie, emulated \(vm.statistics[.rewrittenInstruction]) rewritten instructions"]
    }
}

extension VMMModeCatalog {
    public static var binaryTranslation: (any VMMModeImplementation)? { BinaryTranslationMode() }
}
