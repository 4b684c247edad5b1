#if os(Linux)
import ContainerSupport
import CContainers
import Glibc

/// Image layers as plain directories, in overlayfs's own format: a deleted file is a
/// character device 0:0 (a "whiteout") and a directory whose lower contents are hidden
/// carries the xattr trusted.overlay.opaque=y. A container's upper directory is
/// already in this format, which is why committing it makes a layer.
public enum Layers {
    static let opaqueAttribute = "trusted.overlay.opaque"

    /// Turns a container's upper directory into a new read-only layer at `layer`
    /// (which must not exist). Written to a temporary directory, then renamed.
    public static func commit(upper: String, to layer: String) throws(ContainerError) {
        guard Kernel.isDirectory(upper) else { throw ContainerError("upper directory '\(upper)' does not exist or is not a directory") }
        guard !Kernel.exists(layer) else { throw ContainerError("layer '\(layer)' already exists") }
        let temporary = layer + ".partial-\(getpid())"
        do {
            try copyTree(from: upper, to: temporary)
            try Kernel.retrying("rename \(temporary) to \(layer)") { rename(temporary, layer) }
        } catch {
            try? Kernel.removeTree(temporary)
            throw error
        }
    }

    /// The merged view of `layers` (bottom first) as one private directory: the
    /// "duplicate everything" approach. Whiteouts and opaque directories are applied.
    public static func flatten(_ layers: [String], into destination: String) throws(ContainerError) {
        guard let bottom = layers.first else { throw ContainerError("no layers to copy") }
        try copyTree(from: bottom, to: destination)
        for layer in layers.dropFirst() { try apply(layer: layer, onto: destination) }
    }

    /// Bytes of disk the tree really uses (allocated blocks; hard links counted once).
    public static func diskUsage(_ path: String) -> UInt64 {
        var seen: Set<[UInt64]> = []
        return diskUsage(path, seen: &seen)
    }

    private static func diskUsage(_ path: String, seen: inout Set<[UInt64]>) -> UInt64 {
        guard let info = Kernel.fileStatus(path) else { return 0 }
        guard seen.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { return 0 }
        var total = UInt64(info.st_blocks) * 512
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in (try? Kernel.directoryEntries(path)) ?? [] { total += diskUsage(path + "/" + name, seen: &seen) }
        }
        return total
    }

    // MARK: Copying

    /// cp -a for what images hold: directories, regular files, symbolic links, device
    /// nodes (including whiteouts), FIFOs; owner, mode and the opaque xattr. Hard links
    /// become separate copies. Never follows symbolic links.
    static func copyTree(from source: String, to destination: String) throws(ContainerError) {
        guard let info = Kernel.fileStatus(source) else { throw ContainerError("cannot read '\(source)'", errno: errno) }
        try copyEntry(source, destination, info)
    }

    private static func copyEntry(_ source: String, _ destination: String, _ info: stat) throws(ContainerError) {
        let mode = info.st_mode & 0o7777
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            try Kernel.makeDirectory(destination, mode: 0o700)
            for name in try Kernel.directoryEntries(source) {
                guard let child = Kernel.fileStatus(source + "/" + name) else { continue }
                try copyEntry(source + "/" + name, destination + "/" + name, child)
            }
            try copyOpaqueAttribute(source, destination)
            _ = lchown(destination, info.st_uid, info.st_gid)
            _ = chmod(destination, mode)
        case S_IFREG:
            try copyFile(source, destination, mode: mode)
            _ = lchown(destination, info.st_uid, info.st_gid)
            _ = chmod(destination, mode)
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(source, &buffer, buffer.count - 1)
            guard length >= 0 else { throw ContainerError("readlink \(source)", errno: errno) }
            let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            try Kernel.retrying("symlink \(destination)") { symlink(target, destination) }
            _ = lchown(destination, info.st_uid, info.st_gid)
        case S_IFCHR, S_IFBLK, S_IFIFO:
            try Kernel.retrying("mknod \(destination)") { mknod(destination, info.st_mode, info.st_rdev) }
            _ = lchown(destination, info.st_uid, info.st_gid)
        default:
            break  // sockets do not belong in an image
        }
    }

    private static func copyFile(_ source: String, _ destination: String, mode: mode_t) throws(ContainerError) {
        let input = try Kernel.open(source, O_RDONLY)
        defer { Kernel.close(input) }
        let output = try Kernel.open(destination, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        defer { Kernel.close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ContainerError("read \(source)", errno: errno)
            }
            if count == 0 { break }
            try Kernel.writeAll(output, Array(buffer[0..<count]), what: destination)
        }
    }

    private static func copyOpaqueAttribute(_ source: String, _ destination: String) throws(ContainerError) {
        if isOpaque(source) {
            try Kernel.check(vlab_set_opaque(destination), "set \(opaqueAttribute) on \(destination)")
        }
    }

    static func isOpaque(_ path: String) -> Bool {
        vlab_is_opaque(path) == 1
    }

    static func isWhiteout(_ info: stat) -> Bool {
        (info.st_mode & S_IFMT) == S_IFCHR && info.st_rdev == 0
    }

    /// Applies one layer to a flattened copy the way overlayfs would show it.
    private static func apply(layer: String, onto destination: String) throws(ContainerError) {
        for name in try Kernel.directoryEntries(layer) {
            let source = layer + "/" + name
            let target = destination + "/" + name
            guard let info = Kernel.fileStatus(source) else { continue }
            if isWhiteout(info) {
                try Kernel.removeTree(target)
            } else if (info.st_mode & S_IFMT) == S_IFDIR {
                let existing = Kernel.fileStatus(target)
                if isOpaque(source) || existing.map({ ($0.st_mode & S_IFMT) != S_IFDIR }) ?? false {
                    try Kernel.removeTree(target)
                }
                if Kernel.fileStatus(target) == nil {
                    try copyTree(from: source, to: target)
                    // The copy's opaque marker means nothing in a flat tree.
                    _ = vlab_remove_opaque(target)
                } else {
                    try apply(layer: source, onto: target)
                    _ = chmod(target, info.st_mode & 0o7777)
                }
            } else {
                try Kernel.removeTree(target)
                try copyEntry(source, target, info)
            }
        }
    }
}
#endif
