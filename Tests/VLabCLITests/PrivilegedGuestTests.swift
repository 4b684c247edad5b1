import Foundation
import Machine
import RISCV
import Testing

/// The conformance-style guest programs in Tests/Guests/privileged: each checks one area of the
/// privileged architecture from the inside and reports through `tohost` (1 = pass, check<<1|1 = fail).
/// They are assembled by VirtLab's own assembler and booted on VirtLab's machine; where the GNU
/// toolchain and QEMU are installed the same sources are built by GNU and run on QEMU too, so the
/// expectations in them are known to hold on a real peer.
@Suite("Privileged-architecture guest programs")
struct PrivilegedGuestTests {
    static let programs = Checkout.files(in: Checkout.privileged, withExtension: "S").map { $0.lastPathComponent }

    static func assemble(_ name: String) throws -> ELFFile {
        let url = Checkout.privileged.appendingPathComponent(name)
        let source = try String(contentsOf: url, encoding: .utf8)
        let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000, include: { include in
            try String(contentsOf: Checkout.privileged.appendingPathComponent(include), encoding: .utf8)
        })
        return try ELFFile(bytes: program.elfExecutable())
    }

    @Test("passes on VirtLab's machine", arguments: programs)
    func passesOnVirtLab(_ name: String) throws {
        let elf = try Self.assemble(name)
        let machine = try Machine()
        try machine.load(elf)
        // Timer checks wait for interrupts: a generous bound turns a hang into a failure.
        let stop = machine.run(maxInstructions: 50_000_000)
        #expect(stop == .exited(code: 0), "\(name): \(stop) — a non-zero code is the number of the failing check")
    }

    @Test("VirtLab's assembler builds the same image as GNU as + ld", .enabled(if: Peers.hasGNUToolchain, "needs riscv64-unknown-elf-as and -ld (binutils-riscv64-unknown-elf)"),
          arguments: programs)
    func sameImageAsGNU(_ name: String) throws {
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let gnu = try ELFFile(bytes: [UInt8](Data(contentsOf: Peers.gnuBuild(Checkout.privileged.appendingPathComponent(name), into: directory, layout: .virtLab))))
        let ours = try Self.assemble(name)
        #expect(ours.entry == gnu.entry)
        func loaded(_ elf: ELFFile) -> [UInt32: UInt8] {
            var memory: [UInt32: UInt8] = [:]
            for segment in elf.segments {
                for (i, byte) in segment.data.enumerated() { memory[segment.physicalAddress + UInt32(i)] = byte }
            }
            return memory
        }
        let mine = loaded(ours), theirs = loaded(gnu)
        let firstDifference = Set(mine.keys).union(theirs.keys).sorted().first { mine[$0] != theirs[$0] }
        #expect(firstDifference == nil, "\(name): first differing byte at \(String(firstDifference ?? 0, radix: 16))")
        for symbol in ["_start", "tohost"] {
            #expect(ours.symbol(named: symbol)?.value == gnu.symbol(named: symbol)?.value, "\(name): symbol \(symbol)")
        }
    }

    @Test("passes on QEMU (spike board, HTIF tohost)",
          .enabled(if: Peers.hasGNUToolchain && Peers.qemuSystem != nil, "needs GNU binutils and qemu-system-riscv32 (qemu-system-misc)"),
          arguments: programs)
    func passesOnQEMU(_ name: String) throws {
        // Built with ld's default layout, as Tests/Guests/run-on-qemu.sh does. (QEMU 7.2 fails the
        // illegal-instruction mtval checks of exceptions/csr/traps when .data shares the code's page,
        // as VirtLab's layout puts it; VirtLab passes with both layouts.)
        // QEMU's spike board has no `time` CSR: counters.S runs on virt there (see Tests/Guests/README.md).
        let board = name == "counters.S" ? "virt" : "spike"
        let directory = try Peers.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let elf = try Peers.gnuBuild(Checkout.privileged.appendingPathComponent(name), into: directory)
        let result = try Peers.run(Peers.qemuSystem!, ["-machine", board, "-cpu", "rv32,c=false", "-bios", "none",
                                                       "-nographic", "-monitor", "none", "-kernel", elf.path], timeout: 60)
        #expect(result.status == 0, "\(name) on QEMU \(board): exit \(result.status)")
        // The very same GNU-built image passes on VirtLab too.
        let machine = try Machine()
        try machine.load(try ELFFile(bytes: [UInt8](Data(contentsOf: elf))))
        let stop = machine.run(maxInstructions: 50_000_000)
        #expect(stop == .exited(code: 0), "\(name), GNU-built, on VirtLab: \(stop)")
    }
}
