import Foundation
import Testing
@testable import SplitIO

/// The guest kernel's C frontend will share rings with the Swift backend, so the Swift encoding
/// must be the bytes the RV32 C compiler lays out for the same structs. The peer: GNU
/// riscv64-unknown-elf-gcc for rv32 (ILP32), compiling initialized structs into their own
/// sections, extracted with objcopy and compared byte for byte with `encoded()`.
@Suite("BlockLayout")
struct BlockLayoutTests {
    static let gcc = "/usr/bin/riscv64-unknown-elf-gcc"
    static let objcopy = "/usr/bin/riscv64-unknown-elf-objcopy"
    static var toolsPresent: Bool {
        FileManager.default.isExecutableFile(atPath: gcc) && FileManager.default.isExecutableFile(atPath: objcopy)
    }

    static let source = """
        #include <stdint.h>
        #include <stddef.h>
        typedef uint32_t grant_ref_t;
        struct blkif_request_segment { grant_ref_t gref; uint8_t first_sect, last_sect; };
        struct blkif_request {
            uint8_t operation; uint8_t nr_segments; uint16_t handle;
            uint64_t id; uint64_t sector_number;
            struct blkif_request_segment seg[11];
        };
        struct blkif_response { uint64_t id; uint8_t operation; int16_t status; };
        union blkif_sring_entry { struct blkif_request req; struct blkif_response rsp; };
        struct blkif_sring {
            uint32_t req_prod, req_event, rsp_prod, rsp_event;
            uint8_t pad[48];
            union blkif_sring_entry ring[1];
        };
        _Static_assert(offsetof(struct blkif_sring, ring) == 64, "ring header");
        _Static_assert(sizeof(union blkif_sring_entry) == 112, "slot size");
        __attribute__((section(".request"))) const struct blkif_request request = {
            .operation = 1, .nr_segments = 2, .handle = 0x1234,
            .id = 0x1122334455667788ULL, .sector_number = 0x0102030405060708ULL,
            .seg = { { .gref = 0xA1B2C3D4u, .first_sect = 3, .last_sect = 7 },
                     { .gref = 5, .first_sect = 0, .last_sect = 1 } },
        };
        __attribute__((section(".response"))) const struct blkif_response response = {
            .id = 0x8877665544332211ULL, .operation = 3, .status = -2,
        };
        """

    func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test("request and response bytes match riscv64-unknown-elf-gcc's rv32 layout",
          .enabled(if: toolsPresent, "needs riscv64-unknown-elf-gcc and objcopy (Debian gcc-riscv64-unknown-elf)"))
    func matchesGCC() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("blkif-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("blkif.c"), object = directory.appendingPathComponent("blkif.o")
        try Self.source.write(to: source, atomically: true, encoding: .utf8)
        #expect(try run(Self.gcc, ["-march=rv32ima", "-mabi=ilp32", "-ffreestanding", "-O0", "-c", source.path, "-o", object.path]) == 0)
        func section(_ name: String) throws -> [UInt8] {
            let out = directory.appendingPathComponent(name + ".bin")
            #expect(try run(Self.objcopy, ["-O", "binary", "--only-section=.\(name)", object.path, out.path]) == 0)
            return Array(try Data(contentsOf: out))
        }
        let request = BlockRequest(operation: .write, id: 0x1122_3344_5566_7788, sector: 0x0102_0304_0506_0708, segments: [
            BlockSegment(grant: GrantReference(0xA1B2_C3D4), firstSector: 3, lastSector: 7),
            BlockSegment(grant: GrantReference(5), firstSector: 0, lastSector: 1),
        ], handle: 0x1234)
        let response = BlockResponse(id: 0x8877_6655_4433_2211, operation: .flush, status: .notSupported)
        #expect(try section("request") == request.encoded())
        #expect(try section("response") == response.encoded())
        #expect(BlockRequest(decoding: request.encoded()) == request)
        #expect(BlockResponse(decoding: response.encoded()) == response)
    }
}
