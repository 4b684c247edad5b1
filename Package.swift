// swift-tools-version: 6.1
// VirtLab: a course on virtualization, taught by building it.
//
// The module graph is the design's layer table (shared/ARCHITECTURE.md): a module
// depends only on modules above it.
//
//   RISCV           the ISA as data: decode, encode, assemble, disassemble, ELF32 (pure)
//   Machine         the emulated RV32 computer: harts, MMU, bus, devices, engines, Linux user mode
//   LabSupport      the small machine and protocols the labs are written against (RISCV only)
//   LabTestSupport  the labs' test harness: the reference (Machine) run in lock-step with a lab
//   HypervisorCore  the VMM framework: virtual CPU, guest memory (p2m), shadow page tables, emulated
//                   devices, exit accounting, and the protocols Labs 03/04 implement (ExitHandler, ...)
//   MemoryVirtualization  the reference shadow pager, nested-paging measurement, page sharing and
//                   ballooning, and the memory workloads `vlab bench memory` runs
//   Hypervisor      the reference answers to those protocols, the VMM modes and the facade vlab calls
//   SplitIOSupport  the split-driver protocol a backend is built on: guest memory, grant tables, event
//                   channels, the shared ring layout and frontend half, blkif, raw disk images, the frontend
//   SplitIO         Xen-style split drivers: the backend ring half, the block backend, domains, emulated
//                   and direct I/O (re-exports SplitIOSupport)
//   ContainerSupport the container runtime's vocabulary: configuration, errors, syscall wrappers, step protocols
//   Containers      OS-level virtualization on the Linux kernel (CContainers: its small C syscall shim)
//   Grading         rubrics, sandboxed grading of lab submissions, JUnit/Gradescope reports
//   VLabCLI         every `vlab` command, as a library the tests call
//   vlab            the thin executable
//
// Labs join the graph only when asked, through the environment (notes: labs-shared.md):
//   VLAB_LAB=01               adds target Lab01 (Labs/01-isa-interpreter/Sources/Lab01) and Lab01PublicTests
//   VLAB_LAB_SOURCES=DIR      builds Lab01 from DIR instead (a grading workspace, or Grader/Solutions/...);
//                             DIR must be inside the package root (absolute or relative to it): SwiftPM
//                             rejects target paths outside it, but a symlink inside the root to a folder
//                             elsewhere works
//   VLAB_HIDDEN_TESTS=1       adds Lab01HiddenTests (Grader/HiddenTests/01-isa-interpreter/Lab01HiddenTests)
// so the repository's own `swift test` never compiles a skeleton, and a lab target can only
// import what its entry below lists: never the library's own answer to the lab.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

/// The labs: folder name, and the modules a lab's own code may import.
let labs: [String: (slug: String, dependencies: [Target.Dependency])] = [
    "01": ("01-isa-interpreter", ["RISCV", "LabSupport"]),
    "02": ("02-binary-translation", ["RISCV", "LabSupport"]),
    "03": ("03-trap-and-emulate", ["HypervisorCore", "Machine", "RISCV"]),
    "04": ("04-sensitive-instructions", ["HypervisorCore", "Machine", "RISCV"]),
    // The ShadowPager protocol (HypervisorCore), never MemoryVirtualization (the reference pager).
    "05": ("05-shadow-paging", ["HypervisorCore", "Machine", "RISCV"]),
    // The split-driver protocol (SplitIOSupport), never SplitIO (whose BlockBackend is the answer).
    "06": ("06-split-driver-io", ["SplitIOSupport", "LabSupport"]),
    // The runtime's vocabulary and syscall shim, never Containers (the reference answers).
    "07": ("07-containers", ["CContainers", "ContainerSupport"]),
]

var labTargets: [Target] = []
let environment = Context.environment
if let number = environment["VLAB_LAB"], let lab = labs[number] {
    let module = "Lab\(number)"
    var sources = "Labs/\(lab.slug)/Sources/\(module)"
    if let override = environment["VLAB_LAB_SOURCES"], !override.isEmpty {
        // SwiftPM wants target paths relative to the package root.
        let root = Context.packageDirectory.hasSuffix("/") ? Context.packageDirectory : Context.packageDirectory + "/"
        sources = override.hasPrefix(root) ? String(override.dropFirst(root.count)) : override
    }
    var testDependencies: [Target.Dependency] = [.target(name: module), "LabSupport", "LabTestSupport", "Machine", "RISCV"]
    labTargets.append(.target(name: module, dependencies: lab.dependencies, path: sources, swiftSettings: strict))
    if number == "05" {
        // The tests run guests under the reference exit handler (Hypervisor) with the student's pager.
        testDependencies += ["HypervisorCore", "Hypervisor"]
    }
    if number == "06" {
        // The hidden tests compare with the reference backend.
        testDependencies += ["SplitIOSupport", "SplitIO"]
    }
    if number == "07" {
        // The container init that runs the student's steps: the runtime re-executes it inside the
        // new namespaces. It, and the tests, may use Containers; the lab target may not.
        labTargets.append(.executableTarget(name: "Lab07Init", dependencies: [.target(name: module), "Containers"],
                                            path: "Labs/\(lab.slug)/Sources/Lab07Init", swiftSettings: strict))
        testDependencies += ["Containers", "ContainerSupport", .target(name: "Lab07Init")]
    }
    labTargets.append(.testTarget(name: "\(module)PublicTests", dependencies: testDependencies,
                                  path: "Labs/\(lab.slug)/Tests/\(module)PublicTests", swiftSettings: strict))
    if environment["VLAB_HIDDEN_TESTS"] == "1" {
        labTargets.append(.testTarget(name: "\(module)HiddenTests", dependencies: testDependencies,
                                      path: "Grader/HiddenTests/\(lab.slug)/\(module)HiddenTests", swiftSettings: strict))
    }
}

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
        // The engines' design note lives beside the code it explains.
        .target(name: "Machine", dependencies: ["RISCV"], exclude: ["Engine/DESIGN.md"], swiftSettings: strict),
        .target(name: "LabSupport", dependencies: ["RISCV"], swiftSettings: strict),
        .target(name: "LabTestSupport", dependencies: ["LabSupport", "HypervisorCore", "Machine", "RISCV"], swiftSettings: strict),
        // Rubrics, submission workspaces, sandboxed test runs and reports (`vlab grade`).
        .target(name: "Grading", dependencies: ["Yams", "Containers"], swiftSettings: strict),
        // The VMM framework (what a lab may build on) and, separately, the reference answers: a lab
        // target that depends on HypervisorCore alone cannot call the reference.
        .target(name: "HypervisorCore", dependencies: ["Machine", "RISCV"], swiftSettings: strict),
        // Memory virtualization's reference answers (the shadow pager Lab 05 writes, over-commitment).
        .target(name: "MemoryVirtualization", dependencies: ["HypervisorCore", "Machine", "RISCV"], swiftSettings: strict),
        .target(name: "Hypervisor", dependencies: ["MemoryVirtualization", "HypervisorCore", "Machine", "RISCV"], exclude: ["README.md"],
                swiftSettings: strict),
        .target(
            name: "VLabCLI",
            dependencies: [
                "RISCV", "Machine", "Containers", "Grading", "Hypervisor", "HypervisorCore", "MemoryVirtualization", "SplitIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Guests"), .copy("Workloads")],
            swiftSettings: strict),
        // The students' guide to the split-driver model lives beside the code it explains.
        // What a block backend is built on; Lab 06 depends on this alone, never on SplitIO's backend.
        .target(name: "SplitIOSupport", swiftSettings: strict),
        .target(name: "SplitIO", dependencies: ["SplitIOSupport", "Hypervisor", "HypervisorCore", "Machine", "RISCV"], exclude: ["README.md"], swiftSettings: strict),
        .target(name: "CContainers"),
        // What a container runtime is made of but not how to make one: the configuration, the errors, the
        // syscall wrappers, the cgroup layout and the three step protocols. Lab 07 builds on this, not on Containers.
        .target(name: "ContainerSupport", dependencies: ["CContainers"], swiftSettings: strict),
        .target(name: "Containers", dependencies: ["CContainers", "ContainerSupport"], swiftSettings: strict),
        .executableTarget(name: "vlab", dependencies: ["VLabCLI"], swiftSettings: strict),
        // The container init (`ContainerInit.main`), small so that a container starts fast.
        .executableTarget(name: "vlab-init", dependencies: ["Containers"], swiftSettings: strict),

        // The assembler corpus (.s files and the GNU linker script) is test data, read by path.
        .testTarget(name: "RISCVTests", dependencies: ["RISCV"], exclude: ["AssemblerCorpus"], swiftSettings: strict),
        .testTarget(name: "MachineTests", dependencies: ["Machine", "RISCV"], swiftSettings: strict),
        .testTarget(name: "SplitIOTests", dependencies: ["SplitIO", "SplitIOSupport", "Hypervisor", "HypervisorCore", "Machine", "RISCV"], swiftSettings: strict),
        .testTarget(name: "ContainersTests", dependencies: ["Containers"], exclude: ["make-busybox-rootfs.sh"], swiftSettings: strict),
        .testTarget(name: "HypervisorTests", dependencies: ["Hypervisor", "HypervisorCore", "Machine", "RISCV"],
                    swiftSettings: strict),
        .testTarget(name: "MemoryVirtualizationTests",
                    dependencies: ["MemoryVirtualization", "Hypervisor", "HypervisorCore", "Machine", "RISCV"], exclude: ["README.md"],
                    swiftSettings: strict),
        .testTarget(name: "VLabCLITests", dependencies: ["VLabCLI", "Machine", "RISCV"], swiftSettings: strict),
        .testTarget(name: "LabFrameworkTests", dependencies: ["LabSupport", "LabTestSupport", "VLabCLI", "Machine", "RISCV"],
                    swiftSettings: strict),
        // Fixtures holds a miniature course (its own package, lab, rubric and adversarial submissions) that the
        // grader builds and grades for real; it is data, not part of this target.
        .testTarget(name: "GradingTests", dependencies: ["Grading", "VLabCLI"], exclude: ["Fixtures"], swiftSettings: strict),
    ] + labTargets
)
