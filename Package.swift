// swift-tools-version: 6.1
// VirtLab: a course on virtualization, taught by building it.
//
// The module graph is the design's layer table (shared/ARCHITECTURE.md): a module
// depends only on modules above it.
//
//   RISCV      the ISA as data: decode, encode, assemble, disassemble, ELF32 (pure)
//   Machine    the emulated RV32 computer: harts, MMU, bus, devices, engines, Linux user mode
//   Grading    rubrics, sandboxed grading of lab submissions, JUnit/Gradescope reports
//   VLabCLI    every `vlab` command, as a library the tests call
//   vlab       the thin executable
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "VirtLab",
    products: [
        .executable(name: "vlab", targets: ["vlab"]),
        .library(name: "RISCV", targets: ["RISCV"]),
        .library(name: "Machine", targets: ["Machine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "RISCV", swiftSettings: strict),
        .target(name: "Machine", dependencies: ["RISCV"], swiftSettings: strict),
        // Rubrics, submission workspaces, sandboxed test runs and reports (`vlab grade`).
        .target(name: "Grading", dependencies: ["Yams"], swiftSettings: strict),
        .target(
            name: "VLabCLI",
            dependencies: [
                "RISCV", "Machine", "Grading",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Guests")],
            swiftSettings: strict),
        .executableTarget(name: "vlab", dependencies: ["VLabCLI"], swiftSettings: strict),

        // The assembler corpus (.s files and the GNU linker script) is test data, read by path.
        .testTarget(name: "RISCVTests", dependencies: ["RISCV"], exclude: ["AssemblerCorpus"], swiftSettings: strict),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "RISCV"], swiftSettings: strict),
        .testTarget(name: "VLabCLITests", dependencies: ["VLabCLI", "Machine", "RISCV"], swiftSettings: strict),
        // Fixtures holds a miniature course (its own package, lab, rubric and adversarial submissions) that the
        // grader builds and grades for real; it is data, not part of this target.
        .testTarget(name: "GradingTests", dependencies: ["Grading", "VLabCLI"], exclude: ["Fixtures"], swiftSettings: strict),
    ]
)
