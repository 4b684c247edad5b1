import Foundation
import Testing
@testable import SplitIO

/// The guest's C netfront shares its rings with the Swift netback, so the Swift encoding must be
/// the bytes RV32 C lays out for netif's structs. The peer: GNU riscv64-unknown-elf-gcc (ILP32),
/// compiling initialized structs into their own sections, extracted with objcopy.
@Suite("NetLayout")
struct NetLayoutTests {
    static let gcc = "/usr/bin/riscv64-unknown-elf-gcc"
    static let objcopy = "/usr/bin/riscv64-unknown-elf-objcopy"
    static var toolsPresent: Bool {
        FileManager.default.isExecutableFile(atPath: gcc) && FileManager.default.isExecutableFile(atPath: objcopy)
    }

    static let source = """
        #include <stdint.h>
        #include <stddef.h>
        typedef uint32_t grant_ref_t;
        struct netif_tx_request { grant_ref_t gref; uint16_t offset, flags, id, size; };
        struct netif_tx_response { uint16_t id; int16_t status; };
        struct netif_rx_request { uint16_t id; grant_ref_t gref; };
        struct netif_rx_response { uint16_t id, offset, flags; int16_t status; };
        union tx_entry { struct netif_tx_request req; struct netif_tx_response rsp; };
        union rx_entry { struct netif_rx_request req; struct netif_rx_response rsp; };
        _Static_assert(sizeof(union tx_entry) == 12, "TX slot");
        _Static_assert(sizeof(union rx_entry) == 8, "RX slot");
        _Static_assert(offsetof(struct netif_rx_request, gref) == 4, "RX gref");
        __attribute__((section(".txreq"))) const struct netif_tx_request txreq = {
            .gref = 0xA1B2C3D4u, .offset = 0x0123, .flags = 0x0005, .id = 0xBEEF, .size = 1514 };
        __attribute__((section(".txrsp"))) const struct netif_tx_response txrsp = { .id = 0x1234, .status = -1 };
        __attribute__((section(".rxreq"))) const struct netif_rx_request rxreq = { .id = 0x0102, .gref = 0x0A0B0C0Du };
        __attribute__((section(".rxrsp"))) const struct netif_rx_response rxrsp = {
            .id = 0x4321, .offset = 64, .flags = 2, .status = 1514 };
        """

    func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test("TX and RX requests and responses match riscv64-unknown-elf-gcc's rv32 layout",
          .enabled(if: toolsPresent, "needs riscv64-unknown-elf-gcc and objcopy (Debian gcc-riscv64-unknown-elf)"))
    func matchesGCC() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("netif-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("netif.c"), object = directory.appendingPathComponent("netif.o")
        try Self.source.write(to: source, atomically: true, encoding: .utf8)
        #expect(try run(Self.gcc, ["-march=rv32ima", "-mabi=ilp32", "-ffreestanding", "-O0", "-c", source.path, "-o", object.path]) == 0)
        func section(_ name: String) throws -> [UInt8] {
            let out = directory.appendingPathComponent(name + ".bin")
            #expect(try run(Self.objcopy, ["-O", "binary", "--only-section=.\(name)", object.path, out.path]) == 0)
            return Array(try Data(contentsOf: out))
        }
        let txRequest = NetTxRequest(grant: GrantReference(0xA1B2_C3D4), offset: 0x0123, flags: [.checksumBlank, .moreData],
                                     id: 0xBEEF, size: 1514)
        let txResponse = NetTxResponse(id: 0x1234, status: .error)
        let rxRequest = NetRxRequest(id: 0x0102, grant: GrantReference(0x0A0B_0C0D))
        let rxResponse = NetRxResponse(id: 0x4321, offset: 64, flags: .dataValidated, status: NetStatus(rawValue: 1514))
        #expect(try section("txreq") == txRequest.encoded())
        #expect(try section("txrsp") == txResponse.encoded())
        #expect(try section("rxreq").count == 8)
        // gcc leaves the padding after the id as it likes; the fields must agree.
        #expect(NetRxRequest(decoding: try section("rxreq")) == rxRequest)
        #expect(try section("rxrsp") == rxResponse.encoded())
        #expect(NetTxRequest(decoding: txRequest.encoded()) == txRequest)
        #expect(NetRxResponse(decoding: rxResponse.encoded()) == rxResponse)
    }

    @Test("both rings hold 256 slots in one page, as Xen's NET_TX_RING_SIZE and NET_RX_RING_SIZE")
    func ringSizes() {
        #expect(NetProtocol.TransmitRing.size == 256)
        #expect(NetProtocol.ReceiveRing.size == 256)
        #expect(NetProtocol.TransmitRing.slotOffset(255) + NetTxRequest.encodedSize <= pageSize)
    }
}
