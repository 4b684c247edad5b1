import Foundation
import Hypervisor
import HypervisorCore
import Machine
import RISCV

/// Paths and peers the hypervisor tests use.
enum TestFiles {
    /// The package root, from this file's path (Tests/HypervisorTests/Support.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let kernel = root.appendingPathComponent("Sources/VLabCLI/Guests/kernel/kernel.elf")

    /// The vlab executable beside the tests (SwiftPM's default build folder).
    static let vlab: String? = {
        let path = root.appendingPathComponent(".build/debug/vlab").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    static func kernelImage() throws -> ELFFile {
        try ELFFile(bytes: Array(try Data(contentsOf: kernel)))
    }

    /// An executable on PATH, if installed.
    static func peer(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// Collects console bytes.
final class ConsoleCapture {
    var bytes: [UInt8] = []
    var console: ConsoleIO { ConsoleIO(write: { [self] in bytes.append($0) }) }
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
