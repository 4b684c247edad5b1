import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV

/// The shipped teaching kernels and small helpers for the over-commitment tests.
enum OvercommitSupport {
    static let kernelFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/VLabCLI/Guests/kernel")

    static func image(_ name: String) throws -> ELFFile {
        try ELFFile(bytes: Array(try Data(contentsOf: kernelFolder.appendingPathComponent(name))))
    }

    /// A Dom0 whose machine holds `domains` domains of `memorySize` (plus their shadow pools) and
    /// `spareFrames` more.
    static func dom0(domains: Int, memorySize: UInt32, spareFrames: Int = 0, overcommit: Bool = false) throws -> Dom0 {
        var configuration = Dom0.Configuration()
        configuration.sliceInstructions = 20_000
        configuration.overcommit = overcommit
        configuration.machineMemory = domains * (Int(memorySize) + configuration.shadowFramesPerDomain * 4096) + spareFrames * 4096
        return try Dom0(configuration: configuration, output: .silent)
    }

    /// Every byte of a domain's memory as the domain sees it (nil for frames it has none behind).
    static func view(_ memory: GuestMemory) -> [[UInt8]?] {
        (0..<memory.frameCount).map { memory.read(GuestMemory.guestPhysical(ofFrame: $0), count: 4096) }
    }

    static func isZero(_ machine: Machine, _ frame: UInt32) -> Bool {
        (try? machine.readPhysical(frame, count: 4096))?.allSatisfy { $0 == 0 } ?? false
    }
}
