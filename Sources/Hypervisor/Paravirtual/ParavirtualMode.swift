import HypervisorCore
import Machine

/// Para-virtualization: the guest is a kernel built to call the VMM (`kernel-pv.elf`), so instead
/// of trapping on each privileged instruction it asks for whole operations, and `ParavirtualHost`
/// serves them. Shadow paging and device emulation are the core's, as in every mode.
public struct ParavirtualMode: VMMModeImplementation {
    public init() {}

    public func boot(_ request: VMMBootRequest) throws(HypervisorError) -> VMMBootResult {
        let host = ParavirtualHost()
        let vm = try GuestHost.makeGuest(request, handler: host)
        host.memory = vm.memory
        vm.hypercalls = host
        let result = vm.run()
        return VMMBootResult(result: result, statistics: vm.statistics,
                             notes: ["paravirtual: \(host.served) hypercalls served, \(host.refused) refused with an error"])
    }

    public func prepareDomain(_ vm: VirtualMachine) -> Bool {
        let host = ParavirtualHost()
        host.memory = vm.memory
        vm.handler = host
        vm.hypercalls = host
        return true
    }
}

extension VMMModeCatalog {
    public static var paravirtual: (any VMMModeImplementation)? { ParavirtualMode() }
}
