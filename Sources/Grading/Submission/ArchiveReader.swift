import Foundation

/// One entry of a submission archive, as listed before anything is written to disk.
struct ArchiveEntry: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case file
        case directory
        case symlink(target: String)
        /// Hard links, devices, FIFOs: never extracted.
        case other(String)
    }

    var path: String
    var kind: Kind
}

/// Lists and safely extracts `.zip`, `.tar`, `.tar.gz` and `.tgz` submissions.
///
/// Every entry is checked *before* extraction: absolute paths, `..` components and symlinks whose target
/// leaves the archive reject the whole archive with one line naming the entry. Tar archives are read by this
/// file's own parser (gzip through the system `gzip`) and written out entry by entry; zip archives are listed
/// from their central directory here and extracted by the system `unzip` only after the listing passed.
enum ArchiveReader {
    static let maximumUnpackedBytes = 256 << 20

    static func isArchive(_ path: String) -> Bool {
        let lower = path.lowercased()
        return [".zip", ".tar", ".tar.gz", ".tgz"].contains { lower.hasSuffix($0) }
    }

    /// Extracts `archive` into the empty directory `destination`.
    static func extract(_ archive: String, into destination: String) throws(GradingError) {
        guard let data = FileManager.default.contents(atPath: archive) else {
            throw GradingError("\(archive): cannot read the archive")
        }
        let lower = archive.lowercased()
        if lower.hasSuffix(".zip") {
            let entries = try zipEntries(data, archive: archive)
            try check(entries, archive: archive)
            guard let unzip = Sandbox.findExecutable("unzip") else {
                throw GradingError("\(archive): cannot extract: `unzip` is not installed")
            }
            // -n never overwrites, -: is not given so unzip's own `..` stripping stays on as a second guard.
            let result = try ChildProcess([unzip, "-q", "-n", archive, "-d", destination]).run()
            guard result.termination == .exited(0) else {
                throw GradingError("\(archive): unzip failed: \(result.standardError.text.split(separator: "\n").first ?? "")")
            }
        } else {
            var tar = data
            if lower.hasSuffix(".gz") || lower.hasSuffix(".tgz") { tar = try gunzip(archive) }
            let entries = try tarEntries(tar, archive: archive)
            try check(entries.map(\.entry), archive: archive)
            try writeTar(entries, from: [UInt8](tar), into: destination, archive: archive)
        }
    }

    /// Rejects entries that could write outside the destination.
    static func check(_ entries: [ArchiveEntry], archive: String) throws(GradingError) {
        let links = Set(entries.compactMap { entry -> String? in
            if case .symlink = entry.kind { return entry.path }
            return nil
        })
        for entry in entries {
            let parts = entry.path.split(separator: "/")
            if parts.count > 1, let through = (1..<parts.count).map({ parts[0..<$0].joined(separator: "/") }).first(where: links.contains) {
                throw GradingError("\(archive): entry \"\(entry.path)\" is written through the symlink \"\(through)\"; refusing the archive")
            }
            if entry.path.hasPrefix("/") {
                throw GradingError("\(archive): entry \"\(entry.path)\" has an absolute path; refusing the archive")
            }
            if entry.path.split(separator: "/").contains("..") || entry.path.contains("\\") {
                throw GradingError("\(archive): entry \"\(entry.path)\" contains `..` or a backslash; refusing the archive")
            }
            if case .symlink(let target) = entry.kind, !linkStaysInside(link: entry.path, target: target) {
                throw GradingError("\(archive): symlink \"\(entry.path)\" points outside the archive (→ \(target)); refusing the archive")
            }
            if case .other(let kind) = entry.kind {
                throw GradingError("\(archive): entry \"\(entry.path)\" is a \(kind); only files, folders and symlinks are accepted")
            }
        }
    }

    /// Whether a link at relative path `link` with `target` resolves, lexically, inside the root.
    static func linkStaysInside(link: String, target: String) -> Bool {
        if target.hasPrefix("/") { return false }
        var components = link.split(separator: "/").dropLast().map(String.init)
        for part in target.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                if components.isEmpty { return false }
                components.removeLast()
            } else {
                components.append(String(part))
            }
        }
        return true
    }

    // MARK: zip

    /// Reads the zip central directory: names and Unix modes (for symlinks), without decompressing.
    static func zipEntries(_ data: Data, archive: String) throws(GradingError) -> [ArchiveEntry] {
        let bytes = [UInt8](data)
        func u16(_ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
        func u32(_ offset: Int) -> Int { u16(offset) | u16(offset + 2) << 16 }
        // The end-of-central-directory record sits in the last 22 + 65535 bytes.
        guard bytes.count >= 22 else { throw GradingError("\(archive): not a zip archive (too short)") }
        var end = -1
        var offset = bytes.count - 22
        while offset >= max(0, bytes.count - 22 - 65535) {
            if bytes[offset] == 0x50, bytes[offset + 1] == 0x4B, bytes[offset + 2] == 5, bytes[offset + 3] == 6 {
                end = offset
                break
            }
            offset -= 1
        }
        guard end >= 0 else { throw GradingError("\(archive): not a zip archive (no central directory)") }
        let count = u16(end + 10)
        var cursor = u32(end + 16)
        var entries: [ArchiveEntry] = []
        for _ in 0..<count {
            guard cursor + 46 <= bytes.count, u32(cursor) == 0x0201_4B50 else {
                throw GradingError("\(archive): damaged zip central directory")
            }
            let nameLength = u16(cursor + 28), extraLength = u16(cursor + 30), commentLength = u16(cursor + 32)
            let madeBy = u16(cursor + 4) >> 8
            let externalAttributes = u32(cursor + 38)
            let localHeader = u32(cursor + 42)
            let method = u16(cursor + 10)
            let compressedSize = u32(cursor + 20)
            guard cursor + 46 + nameLength <= bytes.count else { throw GradingError("\(archive): damaged zip entry name") }
            let name = String(decoding: bytes[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self)
            let mode = madeBy == 3 ? (externalAttributes >> 16) & 0o170000 : 0
            var kind = ArchiveEntry.Kind.file
            if name.hasSuffix("/") || mode == 0o040000 {
                kind = .directory
            } else if mode == 0o120000 {
                // A stored symlink's data is its target; a compressed one is refused rather than inflated here.
                let nameStart = localHeader + 30
                guard method == 0, nameStart + 4 <= bytes.count else {
                    throw GradingError("\(archive): symlink \"\(name)\" is compressed; refusing the archive")
                }
                let dataStart = nameStart + u16(localHeader + 26) + u16(localHeader + 28)
                guard dataStart + compressedSize <= bytes.count else { throw GradingError("\(archive): damaged zip entry \"\(name)\"") }
                kind = .symlink(target: String(decoding: bytes[dataStart..<(dataStart + compressedSize)], as: UTF8.self))
            } else if mode != 0 && mode != 0o100000 {
                kind = .other("special file")
            }
            entries.append(ArchiveEntry(path: name.hasSuffix("/") ? String(name.dropLast()) : name, kind: kind))
            cursor += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }

    // MARK: tar

    struct TarMember {
        var entry: ArchiveEntry
        var contents: Range<Int>
        var mode: Int
    }

    static func gunzip(_ archive: String) throws(GradingError) -> Data {
        guard let gzip = Sandbox.findExecutable("gzip") else { throw GradingError("\(archive): `gzip` is not installed") }
        var child = ChildProcess([gzip, "-dc", archive])
        child.retainedOutputBytes = maximumUnpackedBytes
        child.outputKillBytes = maximumUnpackedBytes
        child.timeout = 120
        let result = try child.run()
        if result.stopReason != nil {
            throw GradingError("\(archive): unpacks to more than \(maximumUnpackedBytes >> 20) MiB; refusing the archive")
        }
        guard result.termination == .exited(0) else {
            throw GradingError("\(archive): not a readable gzip file (\(result.standardError.text.split(separator: "\n").first ?? ""))")
        }
        return Data(result.standardOutput.head)
    }

    /// Parses ustar, GNU long names and pax `path`/`linkpath` records.
    static func tarEntries(_ data: Data, archive: String) throws(GradingError) -> [TarMember] {
        let bytes = [UInt8](data)
        var members: [TarMember] = []
        var offset = 0
        var longName: String?
        var longLink: String?
        func field(_ start: Int, _ length: Int) -> String {
            let slice = bytes[start..<(start + length)]
            let end = slice.firstIndex(of: 0) ?? slice.endIndex
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        func octal(_ start: Int, _ length: Int) -> Int? {
            Int(field(start, length).trimmingCharacters(in: CharacterSet(charactersIn: " \0")), radix: 8)
        }
        while offset + 512 <= bytes.count {
            if bytes[offset..<(offset + 512)].allSatisfy({ $0 == 0 }) { break }
            let checksum = bytes[offset..<(offset + 512)].enumerated().reduce(0) { sum, item in
                sum + ((148..<156).contains(item.offset) ? 32 : Int(item.element))
            }
            guard let stored = octal(offset + 148, 8), stored == checksum, let size = octal(offset + 124, 12), size >= 0 else {
                throw GradingError("\(archive): not a readable tar archive (bad header at byte \(offset))")
            }
            let type = bytes[offset + 156]
            let contentStart = offset + 512
            guard contentStart + size <= bytes.count else { throw GradingError("\(archive): truncated tar archive") }
            let contents = contentStart..<(contentStart + size)
            offset = contentStart + (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "L"):
                longName = String(decoding: bytes[contents].prefix { $0 != 0 }, as: UTF8.self)
                continue
            case UInt8(ascii: "K"):
                longLink = String(decoding: bytes[contents].prefix { $0 != 0 }, as: UTF8.self)
                continue
            case UInt8(ascii: "x"):
                for record in String(decoding: bytes[contents], as: UTF8.self).split(separator: "\n") {
                    guard let space = record.firstIndex(of: " ") else { continue }
                    let pair = record[record.index(after: space)...]
                    if pair.hasPrefix("path=") { longName = String(pair.dropFirst(5)) }
                    if pair.hasPrefix("linkpath=") { longLink = String(pair.dropFirst(9)) }
                }
                continue
            case UInt8(ascii: "g"):
                continue
            default:
                break
            }
            let header = contentStart - 512
            var name = field(header, 100)
            let prefix = field(header + 345, 155)
            if !prefix.isEmpty, field(header + 257, 6).hasPrefix("ustar") { name = prefix + "/" + name }
            if let longName { name = longName }
            let linkTarget = longLink ?? field(header + 157, 100)
            longName = nil
            longLink = nil
            while name.hasPrefix("./") { name.removeFirst(2) }
            if name.hasSuffix("/") { name.removeLast() }
            if name.isEmpty || name == "." { continue }
            let kind: ArchiveEntry.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "2"): kind = .symlink(target: linkTarget)
            case UInt8(ascii: "1"): kind = .other("hard link")
            default: kind = .other("special file (type \(Character(UnicodeScalar(type))))")
            }
            members.append(TarMember(entry: ArchiveEntry(path: name, kind: kind), contents: contents,
                                     mode: octal(header + 100, 8) ?? 0o644))
        }
        return members
    }

    /// Writes regular files, folders and (checked) symlinks; never follows a symlink while writing.
    private static func writeTar(_ members: [TarMember], from bytes: [UInt8], into destination: String,
                                 archive: String) throws(GradingError) {
        let manager = FileManager.default
        var written = 0
        for member in members {
            let path = destination + "/" + member.entry.path
            // A parent that is a symlink would let a later entry write through it: refuse instead.
            var parent = destination
            for component in member.entry.path.split(separator: "/").dropLast() {
                parent += "/" + component
                if let type = try? manager.attributesOfItem(atPath: parent)[.type] as? FileAttributeType,
                   type == .typeSymbolicLink {
                    throw GradingError("\(archive): entry \"\(member.entry.path)\" is written through a symlink; refusing the archive")
                }
            }
            do {
                try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
                switch member.entry.kind {
                case .directory:
                    try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
                case .file:
                    written += member.contents.count
                    guard written <= maximumUnpackedBytes else {
                        throw GradingError("\(archive): unpacks to more than \(maximumUnpackedBytes >> 20) MiB; refusing the archive")
                    }
                    if manager.fileExists(atPath: path) { try manager.removeItem(atPath: path) }
                    guard manager.createFile(atPath: path, contents: Data(bytes[member.contents]),
                                             attributes: [.posixPermissions: member.mode & 0o755]) else {
                        throw GradingError("\(archive): cannot write \(member.entry.path)")
                    }
                case .symlink(let target):
                    try manager.createSymbolicLink(atPath: path, withDestinationPath: target)
                case .other:
                    break
                }
            } catch let error as GradingError {
                throw error
            } catch {
                throw GradingError("\(archive): cannot extract \(member.entry.path): \(error.localizedDescription)")
            }
        }
    }
}
