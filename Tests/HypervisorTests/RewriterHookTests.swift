import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// The binary-translation hook of the core (Lab 04 writes the real rewriter): kernel code pages are
/// shown to the rewriter before they run, its rewrites trap to it, and the guest never sees them.
@Suite("Binary-translation hook")
struct RewriterHookTests {
    /// Gives the hint `addi x0, x0, 7` a meaning (count it in a6), as a stand-in for an
    /// instruction that must not run natively: it is rewritten to an illegal word (all ones) that traps.
    struct CountingRewriter: SensitiveInstructionRewriter {
        static let marker: UInt32 = 0x0070_0013
        static let trapWord: UInt32 = 0xFFFF_FFFF
        var sites: Set<UInt32> = []

        mutating func rewrite(page: UInt32, words: inout [UInt32]) -> Int {
            var count = 0
            for i in words.indices where words[i] == Self.marker {
                words[i] = Self.trapWord
                sites.insert(page + UInt32(4 * i))
                count += 1
            }
            return count
        }

        mutating func emulateRewritten(_ word: UInt32, vcpu: inout VirtualCPU) -> EmulationOutcome? {
            guard word == Self.trapWord, sites.contains(vcpu.pc) else { return nil }
            vcpu.setRegister(16, vcpu.register(16) &+ 1)
            vcpu.pc &+= 4
            return .completed
        }
    }

    @Test("rewritten instructions trap to the rewriter; loads see the original; stores to code are rescanned")
    func rewriting() throws {
        let image = try CSREmulationTests.assemble("""
                addi x0, x0, 7
                addi x0, x0, 7
                la t0, site
                lw a0, 0(t0)
                li t1, 0x00700013
                la t0, slot
                sw t1, 0(t0)
            slot:
                nop
            site:
                addi x0, x0, 7
                lw a1, 0(t0)
                li t0, 0x100000
                li t1, 0x5555
                sw t1, 0(t0)
            """)
        var request = VMMBootRequest(image: image, name: "bt", console: .silent)
        request.memorySize = 1 << 20
        request.instructionBudget = 100_000
        let vm = try GuestHost.makeGuest(request, handler: PrivilegedInstructionEmulator())
        vm.rewriter = CountingRewriter()
        #expect(vm.run() == .exited(code: 0))
        #expect(vm.vcpu.register(16) == 4, "two markers at the start, the one stored into the slot, the one at site")
        #expect(vm.vcpu.register(10) == CountingRewriter.marker, "a load of rewritten code reads the original word")
        #expect(vm.vcpu.register(11) == CountingRewriter.marker, "the stored word reads back as stored")
        #expect(vm.rewrittenInstructions >= 4)
        #expect(vm.statistics[.rewrittenInstruction] == 4)
        // Bare, the marker is an ordinary no-op: the rewriter is what gave it a meaning.
        let bare = try CSREmulationTests.runBare(image, ramSize: 1 << 20, engine: .interpreter)
        #expect(bare.registers[16] == 0)
        #expect(bare.registers[10] == CountingRewriter.marker && bare.registers[11] == CountingRewriter.marker)
    }
}
