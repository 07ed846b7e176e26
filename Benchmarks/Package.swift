// swift-tools-version:6.1
// Micro-benchmarks (docs/benchmarks.md), kept out of the main package so that its test build
// stays fast. Run from this folder: swift package benchmark
import PackageDescription

let package = Package(
    name: "confidant-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "confidant", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "ConfidantBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ConfidantCore", package: "confidant"),
                .product(name: "ConfidantServer", package: "confidant"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/ConfidantBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
