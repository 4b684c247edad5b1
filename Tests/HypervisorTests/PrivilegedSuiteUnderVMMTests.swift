import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV
import Testing

/// The Machine's own self-checking privileged-architecture programs (Tests/Guests/privileged:
/// traps, CSRs, counters, interrupts, atomics, Sv32 with SUM/MXR/MPRV and A/D bits, ...), run as
/// guests: each must pass under the VMM and end in exactly the state it ends in on the bare hart.
@Suite("Privileged test programs under trap-and-emulate")
struct PrivilegedSuiteUnderVMMTests {
    static let folder = TestFiles.root.appendingPathComponent("Tests/Guests/privileged")
    static let programs = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        .filter { $0.hasSuffix(".S") }.sorted()

    static func assemble(_ name: String) throws -> ELFFile {
        let url = folder.appendingPathComponent(name)
        let source = try String(contentsOf: url, encoding: .utf8)
        let program = try Assembler.assemble(source: source, fileName: name, base: 0x8000_0000, include: { included in
            try String(contentsOf: folder.appendingPathComponent(included), encoding: .utf8)
        })
        return try ELFFile(bytes: program.elfExecutable())
    }

    @Test("the programs are there")
    func corpusPresent() {
        #expect(Self.programs.count >= 8, "found \(Self.programs)")
    }

    @Test("passes, with the bare machine's final state", arguments: programs, ExecutionEngineKind.allCases)
    func sameAsBare(_ name: String, _ engine: ExecutionEngineKind) throws {
        let image = try Self.assemble(name)
        let bare = try CSREmulationTests.runBare(image, ramSize: 16 << 20, engine: engine)
        let (virtualized, vm) = try CSREmulationTests.runVirtualized(image, ramSize: 16 << 20, engine: engine)
        #expect(virtualized.retired == bare.retired, "\(name): \(virtualized.retired) instructions virtualized, \(bare.retired) bare")
        #expect(virtualized.pc == bare.pc)
        for r in 0..<32 where virtualized.registers[r] != bare.registers[r] {
            Issue.record("\(name): x\(r) is 0x\(hex8(virtualized.registers[r])) under the VMM, 0x\(hex8(bare.registers[r])) bare")
        }
        for (number, value) in bare.csrs where virtualized.csrs[number] != value {
            Issue.record("\(name): CSR 0x\(String(number, radix: 16)) is 0x\(hex8(virtualized.csrs[number] ?? 0)) under the VMM, 0x\(hex8(value)) bare")
        }
        #expect(vm.statistics.totalExits > 0)
    }
}

