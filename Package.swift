// swift-tools-version: 6.1
// VirtLab: a course on virtualization, taught by building it.
//
// The module graph is the design's layer table (shared/ARCHITECTURE.md): a module
// depends only on modules above it.
//
//   RISCV      the ISA as data: decode, encode, assemble, disassemble, ELF32 (pure)
//   Machine    the emulated RV32 computer: harts, MMU, bus, devices, engines, Linux user mode
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
    ],
    targets: [
        .target(name: "RISCV", swiftSettings: strict),
        // The engines' design note lives beside the code it explains.
        .target(name: "Machine", dependencies: ["RISCV"], exclude: ["Engine/DESIGN.md"], swiftSettings: strict),
        .target(
            name: "VLabCLI",
            dependencies: [
                "RISCV", "Machine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Guests")],
            swiftSettings: strict),
        .executableTarget(name: "vlab", dependencies: ["VLabCLI"], swiftSettings: strict),

        // The assembler corpus (.s files and the GNU linker script) is test data, read by path.
        .testTarget(name: "RISCVTests", dependencies: ["RISCV"], exclude: ["AssemblerCorpus"], swiftSettings: strict),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "RISCV"], swiftSettings: strict),
        .testTarget(name: "VLabCLITests", dependencies: ["VLabCLI", "Machine", "RISCV"], swiftSettings: strict),
    ]
)
