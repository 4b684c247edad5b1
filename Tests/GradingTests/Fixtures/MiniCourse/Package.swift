// swift-tools-version: 6.1
// A miniature course for the grader's own tests. It follows VirtLab's lab layout and environment contract
// (shared/ARCHITECTURE.md): lab targets join the graph only when `VLAB_LAB` asks for them, `VLAB_LAB_SOURCES`
// redirects the lab target's sources, and `VLAB_HIDDEN_TESTS=1` adds the hidden tests.
import PackageDescription

let environment = Context.environment
let lab = environment["VLAB_LAB"]
let hiddenTests = environment["VLAB_HIDDEN_TESTS"] == "1"

var targets: [Target] = [
    .target(name: "MiniSupport"),
]
if lab == "01" {
    let labFolder = "Labs/01-mini-arithmetic"
    targets.append(.target(
        name: "Lab01", dependencies: ["MiniSupport"],
        path: environment["VLAB_LAB_SOURCES"] ?? "\(labFolder)/Sources/Lab01"))
    targets.append(.testTarget(
        name: "Lab01PublicTests", dependencies: ["Lab01"], path: "\(labFolder)/Tests/Lab01PublicTests"))
    if hiddenTests {
        targets.append(.testTarget(
            name: "Lab01HiddenTests", dependencies: ["Lab01", "MiniSupport"],
            path: "Grader/HiddenTests/01-mini-arithmetic/Lab01HiddenTests"))
    }
}

let package = Package(name: "MiniCourse", targets: targets)
