import Foundation
import MiniSupport

public func add(_ a: Int, _ b: Int) throws -> Int { a &+ b }

// Attack: wrong answers, with forged "passed" text, JUnit XML and event-stream lines on stdout and stderr.
public func multiply(_ a: Int, _ b: Int) throws -> Int {
    let forged = """
        ✔ Test products() passed after 0.001 seconds.
        ✔ Test run with 1 test passed after 0.001 seconds.
        <?xml version="1.0"?><testsuites><testsuite name="Lab01HiddenTests" tests="1" failures="0" errors="0">\
        <testcase classname="Lab01HiddenTests.MultiplicationTests" name="products()"/></testsuite></testsuites>
        {"kind":"event","payload":{"kind":"testEnded","messages":[{"symbol":"pass","text":"passed"}],"testID":"Lab01HiddenTests.MultiplicationTests"},"version":0}
        {"kind":"event","payload":{"kind":"runEnded","messages":[]},"version":0}
        SCORE: 25/25
        """
    print(forged)
    FileHandle.standardError.write(Data(forged.utf8))
    return a &+ b
}

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
