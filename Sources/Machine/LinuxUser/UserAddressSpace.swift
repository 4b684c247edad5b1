/// A process's memory, kept the way a kernel keeps it: physical frames taken from the machine's
/// RAM, Sv32 page tables in that RAM for the hart's MMU to walk, and the kernel's own record of
/// every mapped page (which a real kernel keeps in `struct page` and VMAs), used to check user
/// pointers and to copy bytes in and out of the process for system calls.
///
/// Pages of the heap (up to the break) and of the stack region are mapped on first touch, by the
/// page-fault handler or by a system call that reads or writes them; everything else the process
/// touches outside its segments is a segmentation fault.
final class UserAddressSpace {
    struct Permissions: OptionSet, Equatable {
        let rawValue: UInt8
        static let read = Permissions(rawValue: 1)
        static let write = Permissions(rawValue: 2)
        static let execute = Permissions(rawValue: 4)
    }

    /// Why a page could not be mapped: RAM is full.
    struct OutOfMemory: Error {}

    enum FaultResolution: Equatable {
        /// The page is now mapped; retry the access.
        case mapped
        /// SIGSEGV: `SEGV_MAPERR` (1) for an address with nothing there, `SEGV_ACCERR` (2) for a
        /// mapped page that does not allow the access.
        case segmentationFault(code: Int32)
        case outOfMemory
    }

    private let machine: Machine
    private let ramStart: UInt32 = 0x8000_0000
    private let ramEnd: UInt64
    /// Frames never handed out yet, from here to the end of RAM (RAM starts zeroed).
    private var nextUntouchedFrame: UInt32
    /// Frames given back (by brk shrinking): reused before untouched ones, zeroed on reuse.
    private var freedFrames: [UInt32] = []

    /// The physical address of the root (level-1) page table: what `satp` points at.
    let rootTable: UInt32
    /// The level-0 table for each level-1 index that has one.
    private var leafTables: [UInt32: UInt32] = [:]
    /// Every mapped user page: virtual page number -> (frame, permissions).
    private var pages: [UInt32: (frame: UInt32, permissions: Permissions)] = [:]

    /// The heap: `heapStart ..< programBreak`, pages mapped on demand up to `pageUp(programBreak)`.
    private(set) var heapStart: UInt32 = 0
    private(set) var programBreak: UInt32 = 0
    /// Heap pages currently mapped (so growing the break can check there is RAM for the rest).
    private var mappedHeapPages = 0

    init(machine: Machine) throws(LinuxError) {
        self.machine = machine
        ramEnd = UInt64(ramStart) + UInt64(machine.configuration.ramSize)
        nextUntouchedFrame = ramStart
        guard let root = try? Self.allocateFrame(&nextUntouchedFrame, &freedFrames, ramEnd: ramEnd, machine: machine) else {
            throw LinuxError("the machine has no RAM for a page table")
        }
        rootTable = root
    }

    /// Frames not yet in use.
    var availableFrames: Int {
        freedFrames.count + Int((ramEnd - UInt64(nextUntouchedFrame)) / UInt64(LinuxUserLayout.pageSize))
    }

    /// The number of pages mapped, for tests and statistics.
    var mappedPageCount: Int { pages.count }

    func permissions(ofPageAt address: UInt32) -> Permissions? {
        pages[address >> 12]?.permissions
    }

    // MARK: Frames and page tables

    private static func allocateFrame(_ next: inout UInt32, _ freed: inout [UInt32], ramEnd: UInt64,
                                      machine: Machine) throws(OutOfMemory) -> UInt32 {
        if let frame = freed.popLast() {
            do {
                try machine.writePhysical(frame, [UInt8](repeating: 0, count: Int(LinuxUserLayout.pageSize)))
            } catch {
                throw OutOfMemory()  // unreachable: freed frames are RAM
            }
            return frame
        }
        guard UInt64(next) + UInt64(LinuxUserLayout.pageSize) <= ramEnd else { throw OutOfMemory() }
        let frame = next
        next &+= LinuxUserLayout.pageSize
        return frame
    }

    private func allocateFrame() throws(OutOfMemory) -> UInt32 {
        try Self.allocateFrame(&nextUntouchedFrame, &freedFrames, ramEnd: ramEnd, machine: machine)
    }

    private func writeWord(_ value: UInt32, at physical: UInt32) {
        // Page tables and frames are in RAM by construction, so the bus always answers.
        try? machine.writePhysical(physical, [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8),
                                              UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 24)])
    }

    /// Sv32 PTE bits (privileged spec 4.3.1).
    private enum PTE {
        static let valid: UInt32 = 1 << 0
        static let read: UInt32 = 1 << 1
        static let write: UInt32 = 1 << 2
        static let execute: UInt32 = 1 << 3
        static let user: UInt32 = 1 << 4
        static let accessed: UInt32 = 1 << 6
        static let dirty: UInt32 = 1 << 7
    }

    /// Maps one page to a fresh zeroed frame (or changes the permissions of a mapped page).
    /// A writable page is also readable: Sv32 reserves W without R.
    func map(page address: UInt32, permissions: Permissions) throws(OutOfMemory) {
        let vpn = address >> 12
        if let existing = pages[vpn] {
            pages[vpn] = (existing.frame, existing.permissions.union(permissions))
            writeLeaf(vpn: vpn, frame: existing.frame, permissions: existing.permissions.union(permissions))
            machine.flushTLB()  // permissions changed: drop cached translations
            return
        }
        let level1Index = vpn >> 10
        let table: UInt32
        if let t = leafTables[level1Index] {
            table = t
        } else {
            guard availableFrames >= 2 else { throw OutOfMemory() }  // the table and the page
            table = try allocateFrame()
            leafTables[level1Index] = table
            // A non-leaf PTE: V set, R/W/X clear, pointing at the next-level table.
            writeWord((table >> 12) << 10 | PTE.valid, at: rootTable + 4 * level1Index)
        }
        let frame = try allocateFrame()
        pages[vpn] = (frame, permissions)
        writeLeaf(vpn: vpn, frame: frame, permissions: permissions)
    }

    private func writeLeaf(vpn: UInt32, frame: UInt32, permissions: Permissions) {
        guard let table = leafTables[vpn >> 10] else { return }
        var pte = (frame >> 12) << 10 | PTE.valid | PTE.user | PTE.accessed
        if permissions.contains(.read) || permissions.contains(.write) { pte |= PTE.read }
        if permissions.contains(.write) { pte |= PTE.write | PTE.dirty }
        if permissions.contains(.execute) { pte |= PTE.execute }
        writeWord(pte, at: table + 4 * (vpn & 0x3FF))
    }

    /// Unmaps a page and returns its frame to the free list. The caller flushes the TLB.
    private func unmap(page address: UInt32) {
        let vpn = address >> 12
        guard let mapping = pages.removeValue(forKey: vpn), let table = leafTables[vpn >> 10] else { return }
        writeWord(0, at: table + 4 * (vpn & 0x3FF))
        freedFrames.append(mapping.frame)
    }

    /// Copies bytes into mapped pages without permission checks: the loader filling segments
    /// (including read-only ones) and the stack.
    func fill(at address: UInt32, with bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let virtual = address &+ UInt32(offset)
            let inPage = Int(LinuxUserLayout.pageSize - (virtual & 0xFFF))
            let n = min(inPage, bytes.count - offset)
            guard let mapping = pages[virtual >> 12] else { return }
            try? machine.writePhysical(mapping.frame | (virtual & 0xFFF), Array(bytes[offset..<offset + n]))
            offset += n
        }
    }

    // MARK: The heap and the stack

    func startHeap(at address: UInt32) {
        heapStart = address
        programBreak = address
    }

    /// brk: moves the break and returns the break in effect afterwards. A request below the heap's
    /// start, into the stack's guard gap, or needing more pages than RAM has left is refused by
    /// returning the old break (that is how Linux's brk reports failure). Shrinking unmaps the
    /// pages above the new break, so growing again later brings zeroed pages.
    func setBreak(_ requested: UInt32) -> UInt32 {
        guard requested >= heapStart, requested <= LinuxUserLayout.heapLimit else { return programBreak }
        let oldEnd = LinuxUserLayout.pageUp(programBreak)
        let newEnd = LinuxUserLayout.pageUp(requested)
        if newEnd > oldEnd {
            let newPageCount = Int((newEnd - heapStart) / LinuxUserLayout.pageSize)
            let missingTables = Set((heapStart >> 22)...((newEnd - 1) >> 22)).subtracting(leafTables.keys).count
            guard newPageCount - mappedHeapPages + missingTables <= availableFrames else { return programBreak }
        } else if newEnd < oldEnd {
            var page = newEnd
            while page < oldEnd {
                if pages[page >> 12] != nil {
                    unmap(page: page)
                    mappedHeapPages -= 1
                }
                page += LinuxUserLayout.pageSize
            }
            machine.flushTLB()
        }
        programBreak = requested
        return programBreak
    }

    /// Maps the page holding `address` if it belongs to the heap or the stack region and is not
    /// mapped yet. Otherwise says what kind of segmentation fault the access is.
    func resolveFault(at address: UInt32, needing permissions: Permissions) -> FaultResolution {
        if let mapping = pages[address >> 12] {
            // Mapped, so the MMU refused the kind of access: writing read-only data, executing data.
            return mapping.permissions.isSuperset(of: permissions) ? .mapped : .segmentationFault(code: 2)
        }
        let page = LinuxUserLayout.pageDown(address)
        let inHeap = address >= heapStart && address < LinuxUserLayout.pageUp(programBreak)
        let inStack = address >= LinuxUserLayout.stackLimit && address < LinuxUserLayout.stackTop
        guard inHeap || inStack else { return .segmentationFault(code: 1) }
        guard !permissions.contains(.execute) else { return .segmentationFault(code: 2) }  // heap and stack are not executable
        do {
            try map(page: page, permissions: [.read, .write])
        } catch {
            return .outOfMemory
        }
        if inHeap { mappedHeapPages += 1 }
        return .mapped
    }

    // MARK: Copying to and from the process (the kernel's copy_from_user / copy_to_user)

    /// Checks that `count` bytes at `address` may be accessed this way, mapping heap and stack
    /// pages on the way, as the page-fault handler would during a kernel copy.
    private func prepare(_ address: UInt32, count: Int, _ permissions: Permissions) -> LinuxErrno? {
        guard count > 0 else { return nil }
        guard UInt64(address) + UInt64(count) <= UInt64(LinuxUserLayout.kernelReservedStart) else { return .EFAULT }
        var page = LinuxUserLayout.pageDown(address)
        let end = UInt64(address) + UInt64(count)
        while UInt64(page) < end {
            switch resolveFault(at: max(page, address), needing: permissions) {
            case .mapped: break
            case .segmentationFault: return .EFAULT
            case .outOfMemory: return .ENOMEM
            }
            page += LinuxUserLayout.pageSize
        }
        return nil
    }

    func copyIn(from address: UInt32, count: Int) -> Result<[UInt8], LinuxErrno> {
        if let error = prepare(address, count: count, .read) { return .failure(error) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var offset = 0
        while offset < count {
            let virtual = address &+ UInt32(offset)
            let n = min(Int(LinuxUserLayout.pageSize - (virtual & 0xFFF)), count - offset)
            guard let mapping = pages[virtual >> 12],
                  let chunk = try? machine.readPhysical(mapping.frame | (virtual & 0xFFF), count: n) else {
                return .failure(.EFAULT)
            }
            bytes += chunk
            offset += n
        }
        return .success(bytes)
    }

    func copyOut(_ bytes: [UInt8], to address: UInt32) -> LinuxErrno? {
        if let error = prepare(address, count: bytes.count, .write) { return error }
        var offset = 0
        while offset < bytes.count {
            let virtual = address &+ UInt32(offset)
            let n = min(Int(LinuxUserLayout.pageSize - (virtual & 0xFFF)), bytes.count - offset)
            guard let mapping = pages[virtual >> 12] else { return .EFAULT }
            do {
                try machine.writePhysical(mapping.frame | (virtual & 0xFFF), Array(bytes[offset..<offset + n]))
            } catch {
                return .EFAULT
            }
            offset += n
        }
        return nil
    }

    /// Checks a whole output buffer before a system call does anything (qemu-riscv32 and Linux
    /// both fail a read into a bad buffer with EFAULT before reading).
    func checkWritable(_ address: UInt32, count: Int) -> LinuxErrno? {
        prepare(address, count: count, .write)
    }

    func readWord(at address: UInt32) -> Result<UInt32, LinuxErrno> {
        copyIn(from: address, count: 4).map { b in
            UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        }
    }

    /// The bytes of a NUL-terminated string (without the NUL), at most `limit` of them
    /// (ENAMETOOLONG beyond, as for paths). Bytes, not a `String`: a path need not be UTF-8.
    func readString(at address: UInt32, limit: Int) -> Result<[UInt8], LinuxErrno> {
        var bytes: [UInt8] = []
        var cursor = address
        while bytes.count < limit {
            let inPage = min(Int(LinuxUserLayout.pageSize - (cursor & 0xFFF)), limit - bytes.count)
            switch copyIn(from: cursor, count: inPage) {
            case .failure(let e): return .failure(e)
            case .success(let chunk):
                if let nul = chunk.firstIndex(of: 0) {
                    return .success(bytes + chunk[..<nul])
                }
                bytes += chunk
                cursor &+= UInt32(inPage)
            }
        }
        return .failure(.ENAMETOOLONG)
    }
}
