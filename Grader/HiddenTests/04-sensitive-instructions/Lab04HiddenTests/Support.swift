import Foundation
import HypervisorCore
import Lab04
import LabTestSupport
import Machine
import RISCV
import Testing

/// The package root (this file is Grader/HiddenTests/04-sensitive-instructions/Lab04HiddenTests/Support.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func image(_ name: String, _ source: String) throws -> ELFFile {
    let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000)
    return try ELFFile(bytes: program.elfExecutable())
}

/// A build of the shipped teaching kernel: kernel-bt.elf or kernel-pv.elf.
func shippedKernel(_ name: String) throws -> ELFFile {
    let path = packageRoot.appendingPathComponent("Sources/VLabCLI/Guests/kernel/\(name)")
    return try ELFFile(bytes: Array(try Data(contentsOf: path)))
}

/// `vlab.popie` with source register `number`, as a hex literal for `.word`.
func popie(_ number: UInt8) -> String { "0x" + String(TeachingExtension.popieWord(source: Register(number)), radix: 16) }

/// Forwards to the submission's rewriter and checks its work on every page it is shown: each
/// `vlab.popie` must be gone, nothing else may change, and the count it returns must be the
/// number of `vlab.popie` in the page.
struct CheckingRewriter: SensitiveInstructionRewriter {
    var inner: PopieRewriter
    let log: Log

    final class Log {
        var pages = 0
        var expected = 0
        var problems: [String] = []
    }

    mutating func rewrite(page: UInt32, words: inout [UInt32]) -> Int {
        let before = words
        let count = inner.rewrite(page: page, words: &words)
        let popies = before.indices.filter { before[$0] & TeachingExtension.popieMask == TeachingExtension.popieMatch }
        log.pages += 1
        log.expected += popies.count
        if count != popies.count {
            log.problems.append("page 0x\(String(page, radix: 16)): rewrite returned \(count), the page has \(popies.count) vlab.popie")
        }
        for index in before.indices where words[index] != before[index] && !popies.contains(index) {
            log.problems.append("page 0x\(String(page, radix: 16)): the word at +0x\(String(4 * index, radix: 16)) is not a vlab.popie but was rewritten")
        }
        for index in popies where words[index] & TeachingExtension.popieMask == TeachingExtension.popieMatch {
            log.problems.append("page 0x\(String(page, radix: 16)): the vlab.popie at +0x\(String(4 * index, radix: 16)) was left in place")
        }
        return count
    }

    mutating func emulateRewritten(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome? {
        inner.emulateRewritten(word, vcpu: &vcpu)
    }
}

/// Runs `run` bare (with the teaching variant) and under Lab 03's reference handler plus the
/// submission's rewriter, in lock-step; records the first divergence and any bad rewrite.
@discardableResult
func binaryTranslation(_ run: BareMachineOracle.Run, sourceLocation: SourceLocation = #_sourceLocation)
    -> (BareMachineOracle.Comparison, CheckingRewriter.Log) {
    var run = run
    run.machineOptions = { $0.implementsTeachingPopie = true }
    let log = CheckingRewriter.Log()
    var unfinished: UnfinishedWork?
    let comparison = BareMachineOracle.compare(run, handler: TrapAndEmulateHandler()) { vm in
        let rewriter = PopieRewriter(memory: vm.memory)
        unfinished = rewriter.unfinished
        vm.rewriter = CheckingRewriter(inner: rewriter, log: log)
    }
    let todo = unfinished?.summary.map { "\n\nThe rewriter reached these TODOs:\n\($0)" } ?? ""
    if let divergence = comparison.divergence {
        Issue.record(Comment(rawValue: divergence + todo), sourceLocation: sourceLocation)
    }
    for problem in log.problems.prefix(5) { Issue.record(Comment(rawValue: problem + todo), sourceLocation: sourceLocation) }
    #expect(comparison.bareStop == .exited(code: 0), "\(run.name): the bare run did not finish", sourceLocation: sourceLocation)
    return (comparison, log)
}

/// A guest under the submission's ParavirtualHost, with its console.
final class ParavirtualRun {
    let host = ParavirtualHost()
    /// The numbers (a7) of the calls the host refused, in order.
    let refusedCalls = RefusedCalls()
    var console: [UInt8] = []
    let vm: VirtualMachine
    var result: GuestRunResult = .sliceEnded

    init(_ name: String, image: ELFFile, memory: UInt32 = 1 << 20, engine: ExecutionEngineKind = .interpreter,
         budget: UInt64 = 2_000_000) throws {
        var guest = GuestConfiguration()
        guest.name = name
        guest.memorySize = memory
        guest.instructionBudget = budget
        var machine = MachineConfiguration()
        machine.engine = engine
        vm = try VirtualMachine.hostingOne(guest, image: image, machine: machine, console: .silent, handler: host)
        vm.devices.uart.console = ConsoleIO(write: { [unowned self] in console.append($0) })
        host.memory = vm.memory
        vm.hypercalls = RefusalRecorder(host: host, refused: refusedCalls)
    }

    func run() -> GuestRunResult {
        result = vm.run()
        return result
    }

    var output: String { String(decoding: console, as: UTF8.self) }
    var todo: String { host.unfinished.summary.map { "\nThe host reached these TODOs:\n\($0)" } ?? "" }
    func register(_ number: Int) -> Int32 { Int32(bitPattern: vm.vcpu.register(number)) }
}

final class RefusedCalls { var numbers: [UInt32] = [] }

/// Passes every ECALL to the submission's host and notes the number of each call it refused
/// (its `refused` count went up), so a test can tell a refused optional extension from a refused
/// call of the lab's ABI.
struct RefusalRecorder: HypercallHandler {
    let host: ParavirtualHost
    let refused: RefusedCalls
    mutating func hypercall(vcpu: inout VirtualCPU, platform: GuestPlatform) -> EmulationOutcome? {
        let number = vcpu.register(17), before = host.refused
        let outcome = host.hypercall(vcpu: &vcpu, platform: platform)
        if host.refused > before { refused.numbers.append(number) }
        return outcome
    }
}

/// Boots into S-mode at `supervisor`; a trap that reaches the guest's M-mode (an ECALL that was
/// not served as a hypercall, or anything else) stops it with exit code 3.
let paravirtualPrologue = """
    _start:
        la t0, machine_trap
        csrw mtvec, t0
        li t0, 0x1800
        csrc mstatus, t0
        li t0, 0x800
        csrs mstatus, t0
        la t0, supervisor
        csrw mepc, t0
        mret
    machine_trap:
        li t0, 0x100000
        li t1, 0x33333
        sw t1, 0(t0)
        j machine_trap

    """

/// `li a7, number; ecall`, result kept in `register`.
func hypercall(_ number: Int, _ arguments: [String], into register: String) -> String {
    arguments.joined(separator: "\n") + "\n    li a7, \(number)\n    ecall\n    mv \(register), a0\n"
}
