import Lab01
import Testing

@Test func onePlusOne() throws {
    #expect(try add(1, 1) == 2)
}
