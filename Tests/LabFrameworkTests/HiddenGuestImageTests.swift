import Foundation
import Testing

/// Hidden-test guests travel twice: as ELF images beside their sources (Grader/HiddenTests/LAB/Guests,
/// written by build.sh) and in base64 inside the hidden test target (GuestImages.swift), because the
/// grader removes Grader/ from a workspace before the hidden tests run. The tests grade with the
/// second copy, people read and rebuild the first: they must be the same bytes.
@Suite struct HiddenGuestImageTests {
    /// Every `Grader/HiddenTests/<lab>/<target>/GuestImages.swift` with the `Guests` folder beside it.
    static func imageFiles() throws -> [(swift: URL, guests: URL)] {
        let hidden = repositoryRoot.appendingPathComponent("Grader/HiddenTests")
        let manager = FileManager.default
        var found: [(URL, URL)] = []
        for lab in try manager.contentsOfDirectory(atPath: hidden.path).sorted() {
            let labFolder = hidden.appendingPathComponent(lab)
            let guests = labFolder.appendingPathComponent("Guests")
            for target in (try? manager.contentsOfDirectory(atPath: labFolder.path))?.sorted() ?? [] {
                let swift = labFolder.appendingPathComponent(target).appendingPathComponent("GuestImages.swift")
                if manager.fileExists(atPath: swift.path) { found.append((swift, guests)) }
            }
        }
        return found
    }

    /// The `"name": """ base64 """` entries of a GuestImages.swift, decoded.
    static func embeddedImages(_ swift: URL) throws -> [String: Data] {
        var images: [String: Data] = [:]
        var current: (name: String, text: String)?
        for line in try String(contentsOf: swift, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var entry = current {
                if trimmed.hasPrefix("\"\"\"") {
                    guard let bytes = Data(base64Encoded: entry.text) else {
                        throw ImageFileError(message: "\(swift.path): the image \(entry.name) is not valid base64")
                    }
                    images[entry.name] = bytes
                    current = nil
                } else {
                    entry.text += trimmed
                    current = entry
                }
            } else if trimmed.hasPrefix("\""), trimmed.hasSuffix("\": \"\"\"") {
                current = (String(trimmed.dropFirst().dropLast(6)), "")
            }
        }
        if let current { throw ImageFileError(message: "\(swift.path): the image \(current.name) never ends") }
        return images
    }

    struct ImageFileError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    @Test func embeddedImagesAreTheCommittedElfFiles() throws {
        let files = try Self.imageFiles()
        #expect(files.contains { $0.swift.path.contains("05-shadow-paging") }, "Lab 05's GuestImages.swift was not found")
        for (swift, guests) in files {
            let embedded = try Self.embeddedImages(swift)
            #expect(!embedded.isEmpty, "\(swift.path) carries no image")
            let elfNames = try FileManager.default.contentsOfDirectory(atPath: guests.path)
                .filter { $0.hasSuffix(".elf") }.map { String($0.dropLast(4)) }
            #expect(Set(embedded.keys) == Set(elfNames), "\(swift.path) carries \(embedded.keys.sorted()), \(guests.path) holds \(elfNames.sorted())")
            for (name, bytes) in embedded.sorted(by: { $0.key < $1.key }) {
                let elf = guests.appendingPathComponent("\(name).elf")
                guard let committed = FileManager.default.contents(atPath: elf.path) else { continue }
                #expect(bytes == committed, "\(swift.lastPathComponent): \(name) is \(bytes.count) bytes that differ from \(elf.path) (\(committed.count) bytes): run build.sh there")
            }
        }
    }

    static let gcc = ["/usr/bin/riscv64-unknown-elf-gcc"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// build.sh is reproducible: the committed images are what it builds from the sources beside them.
    @Test(.enabled(if: gcc != nil, "needs riscv64-unknown-elf-gcc (Debian's gcc-riscv64-unknown-elf)"))
    func committedImagesAreWhatBuildShBuilds() throws {
        for (_, guests) in try Self.imageFiles() {
            let script = guests.appendingPathComponent("build.sh")
            guard FileManager.default.fileExists(atPath: script.path) else { continue }
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("guest-images-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: output) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = [script.path, output.path]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(script.path) failed: \(message)")
            guard process.terminationStatus == 0 else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: output.path) where name.hasSuffix(".elf") {
                let built = FileManager.default.contents(atPath: output.appendingPathComponent(name).path)
                let committed = FileManager.default.contents(atPath: guests.appendingPathComponent(name).path)
                #expect(built != nil && built == committed, "\(guests.path)/\(name) is not what build.sh builds from the sources beside it")
            }
        }
    }
}
