import Foundation
import RISCV

/// One of the guest programs `vlab bench` measures: a static RV32IM Linux executable shipped with
/// vlab (its C source and the built image live in `Sources/VLabCLI/Workloads/`).
///
/// Every workload takes one optional argument, its round count, and prints one line,
/// `<name> rounds=<rounds> checksum=0x<hex>`, then exits with status 0. The default round count
/// is sized for about 3×10^8 instructions; a smaller count runs the very same code for less time.
struct BenchWorkload: Sendable, Equatable {
    /// The name used on the command line and in the table (`--workload integer`).
    var name: String
    /// What kind of guest code it stresses, for `--help` and the JSON report.
    var summary: String

    /// The workloads, in the order the table lists them.
    static let all: [BenchWorkload] = [
        BenchWorkload(name: "integer", summary: "ALU and shifts: LCG, xorshift, bitwise CRC-32, FNV-1a"),
        BenchWorkload(name: "memory", summary: "loads and stores over 4 MiB: streaming, random read-modify-write, pointer chasing"),
        BenchWorkload(name: "branch", summary: "data-dependent branches: quicksort and a bytecode interpreter"),
        BenchWorkload(name: "muldiv", summary: "the M extension: mul/mulh/mulhu/mulhsu, div/divu/rem/remu"),
        BenchWorkload(name: "calls", summary: "calls and returns: recursive fib, tak and ackermann, calls through pointers"),
    ]

    static var names: [String] { all.map(\.name) }

    static func named(_ name: String) -> BenchWorkload? { all.first { $0.name == name } }

    /// Where this vlab installation keeps the workload's image.
    func imageURL() throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: "elf", subdirectory: "Workloads") else {
            throw CommandFailure("workload \(name): its image \(name).elf is missing from this vlab installation")
        }
        return url
    }

    /// The workload's image, parsed.
    func image() throws -> (url: URL, elf: ELFFile) {
        let url = try imageURL()
        return (url, try readELF(url.path))
    }

    /// The program's arguments after argv[0]: the round count when one is asked for.
    static func arguments(rounds: UInt32?) -> [String] {
        rounds.map { [String($0)] } ?? []
    }
}
