import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// The teaching kernel builds and the images the sensitive-instruction tests use.
enum KernelBuilds {
    static let folder = TestFiles.root.appendingPathComponent("Sources/VLabCLI/Guests/kernel")

    static func image(_ name: String) throws -> ELFFile {
        try ELFFile(bytes: Array(try Data(contentsOf: folder.appendingPathComponent(name))))
    }

    /// The console of a bare run of `kernel.elf`: what every build must print where it runs correctly.
    static func bareConsole(_ name: String = "kernel.elf", engine: ExecutionEngineKind = .translator,
                            teachingPopie: Bool = false) throws -> (console: [UInt8], exitCode: Int32?) {
        var configuration = MachineConfiguration()
        configuration.engine = engine
        configuration.ramSize = 64 << 20
        configuration.implementsTeachingPopie = teachingPopie
        let machine = try Machine(configuration: configuration)
        let capture = ConsoleCapture()
        machine.console = capture.console
        try machine.load(try image(name))
        let stop = machine.run(maxInstructions: 50_000_000)
        if case .exited(let code) = stop { return (capture.bytes, code) }
        return (capture.bytes, nil)
    }

    static func request(_ name: String, engine: ExecutionEngineKind, console: ConsoleIO) throws -> VMMBootRequest {
        var request = VMMBootRequest(image: try image(name), name: name, console: console)
        request.engine = engine
        request.instructionBudget = 50_000_000
        return request
    }
}

/// kernel-bt.elf protects critical sections with vlab.popie, the teaching ISA's sensitive but
/// unprivileged instruction. Plain trap-and-emulate cannot see it (it runs in U-mode and does
/// nothing); binary translation rewrites it to trap and emulates it.
@Suite("Binary translation of the sensitive-but-unprivileged instruction")
struct BinaryTranslationTests {
    static let bugLine = "kernel: BUG: timer interrupt inside a critical section at 0x"

    @Test("bare with the teaching variant, kernel-bt.elf prints kernel.elf's output", arguments: ExecutionEngineKind.allCases)
    func bareRunIsCorrect(_ engine: ExecutionEngineKind) throws {
        let native = try KernelBuilds.bareConsole(engine: engine)
        let popie = try KernelBuilds.bareConsole("kernel-bt.elf", engine: engine, teachingPopie: true)
        #expect(native.exitCode == 0 && popie.exitCode == 0)
        #expect(popie.console == native.console)
    }

    @Test("under plain trap-and-emulate kernel-bt.elf visibly misbehaves: ticks arrive inside its critical sections",
          arguments: ExecutionEngineKind.allCases)
    func trapAndEmulateMisbehaves(_ engine: ExecutionEngineKind) throws {
        let capture = ConsoleCapture()
        // The host implements the variant (as the bare machine above does), but nothing rewrites.
        var request = try KernelBuilds.request("kernel-bt.elf", engine: engine, console: capture.console)
        request.machineConfiguration.implementsTeachingPopie = true
        let outcome = try TrapAndEmulateMode().boot(request)
        let native = try KernelBuilds.bareConsole(engine: engine)
        #expect(outcome.result == .exited(code: 0))
        #expect(capture.text.contains(Self.bugLine), "no BUG line:\n\(capture.text)")
        #expect(capture.bytes != native.console)
        #expect(outcome.statistics[.rewrittenInstruction] == 0)
        // The CSR accesses around the critical sections did trap and were emulated: only vlab.popie slipped by.
        #expect(outcome.statistics[.csrRead] > 0)
    }

    @Test("under binary translation kernel-bt.elf prints the bare output, and the VMM reports what it rewrote",
          arguments: ExecutionEngineKind.allCases)
    func binaryTranslationIsCorrect(_ engine: ExecutionEngineKind) throws {
        let capture = ConsoleCapture()
        let outcome = try BinaryTranslationMode().boot(try KernelBuilds.request("kernel-bt.elf", engine: engine, console: capture.console))
        let bare = try KernelBuilds.bareConsole("kernel-bt.elf", engine: engine, teachingPopie: true)
        #expect(outcome.result == .exited(code: 0))
        #expect(capture.bytes == bare.console, "under binary translation:\n\(capture.text)")
        #expect(!capture.text.contains("BUG"))
        // Four critical sections, each opened and closed by one vlab.popie: eight executions.
        #expect(outcome.statistics[.rewrittenInstruction] == 8)
        let words = try Self.popieWordsInKernelText()
        #expect(words > 0)
        let note = try #require(outcome.notes.first)
        #expect(note.contains("rewrote \(words) vlab.popie"), "\(note)")
        #expect(note.contains("scanned "))
    }

    /// The vlab.popie words in the image's kernel text (what a correct scan of the kernel's code finds).
    static func popieWordsInKernelText() throws -> Int {
        let image = try KernelBuilds.image("kernel-bt.elf")
        var count = 0
        for segment in image.segments where segment.executable && segment.physicalAddress >= 0x8000_0000 {
            for offset in stride(from: 0, to: segment.data.count - 3, by: 4) {
                let d = segment.data
                let word = UInt32(d[offset]) | UInt32(d[offset + 1]) << 8 | UInt32(d[offset + 2]) << 16 | UInt32(d[offset + 3]) << 24
                if Instruction.decode(word).operation == .vlabPopie { count += 1 }
            }
        }
        return count
    }
}

/// The rewriter on its own, against a guest memory: what it replaces, what it emulates, and what
/// it refuses (words it did not write).
@Suite("PopieRewriter")
struct PopieRewriterTests {
    static func memory() throws -> GuestMemory {
        var configuration = MachineConfiguration()
        configuration.ramSize = 64 << 10
        configuration.interceptUserTraps = true
        let machine = try Machine(configuration: configuration)
        return GuestMemory(machine: machine, machineFrames: (0..<16).map { 0x8000_0000 + UInt32($0) * 4096 })
    }

    @Test func rewritesEveryPopieToATrappingWordAndKeepsTheOriginal() throws {
        let memory = try Self.memory()
        var rewriter = PopieRewriter(memory: memory)
        var words = [UInt32](repeating: 0x0000_0013, count: 1024)   // nops
        words[3] = TeachingExtension.popieWord(source: .t0)
        words[700] = TeachingExtension.popieWord(source: Register(15))
        words[9] = 0x0000_100B                                      // another custom-0 word: not ours
        let before = words
        #expect(rewriter.rewrite(page: 0x8000_2000, words: &words) == 2)
        for (index, register) in [(3, Register.t0), (700, Register(15))] {
            #expect(Instruction.decode(words[index]).operation == .illegal, "the replacement traps")
            #expect(words[index] >> 15 & 31 == UInt32(register.number))
            #expect(rewriter.originalWord(at: 0x8000_2000 + UInt32(4 * index)) == before[index])
        }
        #expect(words[9] == before[9] && words[0] == before[0])
    }

    @Test func emulatesTheOriginalForTheVirtualPrivilege() throws {
        let memory = try Self.memory()
        var rewriter = PopieRewriter(memory: memory)
        var words = [UInt32](repeating: 0x0000_0013, count: 1024)
        words[1] = TeachingExtension.popieWord(source: .t0)
        _ = rewriter.rewrite(page: 0x8000_0000, words: &words)
        for (index, word) in words.enumerated() { _ = memory.write32(0x8000_0000 + UInt32(4 * index), word) }
        let replacement = words[1]
        // (virtual privilege, t0, mstatus before, mstatus after)
        let cases: [(PrivilegeLevel, UInt32, UInt32, UInt32)] = [
            (.supervisor, 0, StatusBits.sie, 0),
            (.supervisor, StatusBits.sie, 0, StatusBits.sie),
            (.supervisor, 0xFFFF_FFFF, 0, StatusBits.sie),
            (.machine, StatusBits.mie, StatusBits.sie, StatusBits.sie | StatusBits.mie),
            (.user, 0xFFFF_FFFF, 0, 0),
        ]
        for (privilege, t0, before, after) in cases {
            var vcpu = VirtualCPU()
            vcpu.pc = 0x8000_0004
            vcpu.privilege = privilege
            vcpu.csrs.mstatus = before
            vcpu.setRegister(Int(Register.t0.number), t0)
            #expect(rewriter.emulateRewritten(replacement, vcpu: &vcpu) == .completed)
            #expect(vcpu.csrs.mstatus == after, "\(privilege)")
            #expect(vcpu.pc == 0x8000_0008)
        }
    }

    @Test func refusesTrappingWordsItDidNotPut() throws {
        let memory = try Self.memory()
        var rewriter = PopieRewriter(memory: memory)
        var words = [UInt32](repeating: 0x0000_0013, count: 1024)
        words[1] = TeachingExtension.popieWord(source: .t0)
        _ = rewriter.rewrite(page: 0x8000_0000, words: &words)
        for (index, word) in words.enumerated() { _ = memory.write32(0x8000_0000 + UInt32(4 * index), word) }
        var vcpu = VirtualCPU()
        vcpu.privilege = .supervisor
        // The same encoding somewhere the rewriter never wrote it: the guest's own illegal instruction.
        vcpu.pc = 0x8000_0010
        _ = memory.write32(0x8000_0010, words[1])
        #expect(rewriter.emulateRewritten(words[1], vcpu: &vcpu) == nil)
        // A rewritten word the guest has since overwritten with the same pattern but another register.
        vcpu.pc = 0x8000_0004
        let other = PopieRewriter.replacementMatch | 7 << 15
        _ = memory.write32(0x8000_0004, other)
        #expect(rewriter.emulateRewritten(other, vcpu: &vcpu) == nil)
        // Not a replacement at all.
        #expect(rewriter.emulateRewritten(0xFFFF_FFFF, vcpu: &vcpu) == nil)
        #expect(vcpu.pc == 0x8000_0004, "nothing emulated")
    }
}
