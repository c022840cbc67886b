// swift-tools-version: 6.1
import PackageDescription

// Module graph (README.md, "Inside"): Core <- Media <- {CLIP <- Video, Speech} <- mmencode.
let package = Package(
  name: "mmencode",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "Core", targets: ["Core"]),
    .library(name: "Media", targets: ["Media"]),
    .library(name: "CLIP", targets: ["CLIP"]),
    .library(name: "Speech", targets: ["Speech"]),
    .library(name: "Video", targets: ["Video"]),
    .executable(name: "mmencode", targets: ["mmencode"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
  ],
  targets: [
    // System libraries, found through pkg-config (Debian: libopenblas-dev, libpng-dev, libav*-dev).
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    // glibc's <malloc.h>, for Allocator.keepFreedMemory.
    .systemLibrary(name: "CMalloc"),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(
      name: "CFFmpeg", pkgConfig: "libavformat",
      providers: [
        .apt([
          "libavformat-dev", "libavcodec-dev", "libswscale-dev", "libswresample-dev",
          "libavutil-dev",
        ])
      ]),

    .target(
      name: "Core",
      dependencies: [
        "COpenBLAS",
        .target(name: "CMalloc", condition: .when(platforms: [.linux])),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "ZIPFoundation", package: "ZIPFoundation"),
      ]),
    .target(name: "Media", dependencies: ["Core", "CFFmpeg", "CPNG"]),
    .target(name: "CLIP", dependencies: ["Core", "Media"]),
    .target(name: "Speech", dependencies: ["Core", "Media"]),
    .target(
      name: "Video",
      dependencies: [
        "Core", "Media", "CLIP",
        .product(name: "Crypto", package: "swift-crypto"),
      ]),
    .executableTarget(
      name: "mmencode",
      dependencies: [
        "Core", "Media", "CLIP", "Speech", "Video",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Crypto", package: "swift-crypto"),
      ]),
    .executableTarget(
      name: "mmencode-bench",
      dependencies: ["Core", "Media", "CLIP", "Speech", "Video"],
      path: "Benchmarks/mmencode-bench"),

    // Helpers every test target shares (fixture paths, temporary directories, seeded inputs,
    // differences); a plain target so test targets can import it, and in no product.
    .target(name: "TestSupport", dependencies: ["Core", "Media"], path: "Tests/TestSupport"),
    .testTarget(name: "CoreTests", dependencies: ["Core", "TestSupport"]),
    .testTarget(name: "MediaTests", dependencies: ["Core", "Media", "TestSupport"]),
    .testTarget(name: "CLIPTests", dependencies: ["Core", "Media", "CLIP", "TestSupport"]),
    .testTarget(name: "SpeechTests", dependencies: ["Core", "Media", "Speech", "TestSupport"]),
    .testTarget(name: "VideoTests", dependencies: ["Core", "Media", "CLIP", "Video", "TestSupport"]),
    .testTarget(name: "CLITests", dependencies: ["Core", "Media", "CLIP", "Video", "TestSupport"]),
  ],
  swiftLanguageModes: [.v6]
)
