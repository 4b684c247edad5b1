import Foundation
import Testing

/// `--engine`: both engines run the same guests to the same output, and `--stats` says which ran.
@Suite("vlab --engine", .enabled(if: Checkout.vlabExecutable != nil, "the vlab executable was not built beside the tests"))
struct EngineOptionTests {
    let vlab = Checkout.vlabExecutable ?? "vlab"

    @Test("vlab run: same output and exit status on both engines", arguments: ["compute", "heap", "signals"])
    func runOnBothEngines(_ program: String) throws {
        let elf = Checkout.guests.appendingPathComponent("linux/\(program).elf").path
        let arguments = program == "signals" ? ["null"] : []
        let interpreter = try Peers.run(vlab, ["run", "--engine", "interpreter", "--stats", elf] + arguments, timeout: 300)
        let translator = try Peers.run(vlab, ["run", "--engine", "translator", "--stats", elf] + arguments, timeout: 300)
        #expect(interpreter.status == translator.status)
        #expect(interpreter.text == translator.text)
        #expect(interpreter.errorText.contains("interpreter"), "\(interpreter.errorText)")
        #expect(translator.errorText.contains("blocks translated"), "\(translator.errorText)")
    }

    @Test("vlab boot: the demo guest prints the same on both engines, translator by default")
    func bootOnBothEngines() throws {
        let byDefault = try Peers.run(vlab, ["boot", "--stats"], timeout: 300)
        let interpreter = try Peers.run(vlab, ["boot", "--engine", "interpreter"], timeout: 300)
        #expect(byDefault.status == 0 && interpreter.status == 0)
        #expect(byDefault.text == interpreter.text)
        #expect(byDefault.errorText.contains("translator"), "\(byDefault.errorText)")
    }

    @Test("an unknown engine is a usage error that names the option")
    func unknownEngine() throws {
        let result = try Peers.run(vlab, ["boot", "--engine", "jit"], timeout: 60)
        #expect(result.status != 0)
        #expect(result.errorText.contains("--engine") && result.errorText.contains("jit"), "\(result.errorText)")
    }
}
