import DMMCore
import DMMLinux
import Foundation
import Testing

@testable import DMMLab

/// The HTML report in a real browser: headless Chromium renders it to a PNG,
/// and each picture must show its own colours there (a Python reader of the
/// PNG counts the pixels). An SVG that does not render leaves none.
@Suite(.enabled(if: Command.locate("chromium") != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                "needs Chromium (scripts/setup --tests installs it); CI runs it"))
struct ReportScreenshotTests {
    /// A run on the star: the node moves mar1 -> mar2 with a flow on its
    /// first prefix, which mar1 then tunnels to mar2.
    static func result() throws -> LabRun.Result {
        let topology = try Topology(yaml: try Scenario.resource("star"))
        let t0 = 1_795_000_000.0
        let hnp1 = LabRun.PrefixPath(prefix: "2001:db8:1::/64", anchor: "mar1", servedAt: "mar1", path: ["cn", "core", "mar1", "mn"])
        let moved = LabRun.PrefixPath(prefix: "2001:db8:1::/64", anchor: "mar1", servedAt: "mar2", path: ["cn", "core", "mar1", "mar2", "mn"])
        let hnp2 = LabRun.PrefixPath(prefix: "2001:db8:2::/64", anchor: "mar2", servedAt: "mar2", path: ["cn", "core", "mar2", "mn"])
        var move = LabRun.Move(from: "mar1", to: "mar2", at: t0 + 3, downlinkMilliseconds: 1.7, uplinkMilliseconds: 0.4,
                               firstEchoMilliseconds: 1.9, pingsLost: 0, signallingMessages: 2, ruleChanges: 4,
                               newConnectionSource: "2001:db8:2::1", newConnectionUsedNewestPrefix: true)
        move.downlinkArrivals = [-15, -5, 1.7, 5, 15, 25, 35]
        move.uplinkArrivals = [-10, 0.4, 10, 20, 30]
        let messages = [
            SignallingMessage(time: t0 + 3.0004, from: "mar2", to: "lms", label: "query mn", refused: false),
            SignallingMessage(time: t0 + 3.0006, from: "lms", to: "mar2", label: "records (1)", refused: false),
            SignallingMessage(time: t0 + 3.0010, from: "mar2", to: "mar1", label: "PBU 2001:db8:1::/64 seq 1 lifetime 75", refused: false),
            SignallingMessage(time: t0 + 3.0013, from: "mar1", to: "mar2", label: "PBA Binding Update accepted seq 1 lifetime 75", refused: false),
        ]
        return LabRun.Result(scenario: "screenshot", passed: true, failures: [], moves: [move], stream: nil, ping: nil, timeline: [],
                             network: .init(topology),
                             phases: [.init(label: "at mar1", node: "mar1", prefixes: [hnp1]),
                                      .init(label: "at mar2, from mar1", node: "mar2", prefixes: [moved, hnp2])],
                             signalling: messages)
    }

    /// Pixels within 8 of each colour, per colour, in a PNG (8-bit RGB or
    /// RGBA, not interlaced, as Chromium writes).
    static let counter = #"""
    import sys, zlib, struct
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos+8]); body = data[pos+8:pos+8+n]; pos += 12 + n
        if kind == b'IHDR': w, h, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT': idat += body
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 4 if ctype == 6 else 3; stride = w * bpp; raw = zlib.decompress(idat); prev = bytearray(stride); rows = []
    for y in range(h):
        f = raw[y*(stride+1)]; line = bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
        for i in range(stride):
            a = line[i-bpp] if i >= bpp else 0; b = prev[i]; c = prev[i-bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line); prev = line
    colours = [tuple(int(c[i:i+2], 16) for i in (1, 3, 5)) for c in sys.argv[2:]]
    counts = [0] * len(colours)
    for line in rows:
        for x in range(0, stride, bpp):
            px = line[x:x+3]
            for k, c in enumerate(colours):
                if abs(px[0]-c[0]) <= 8 and abs(px[1]-c[1]) <= 8 and abs(px[2]-c[2]) <= 8: counts[k] += 1
    print(' '.join(map(str, counts)))
    """#

    @Test func everyPictureRendersInChromium() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dmm-report-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Self.result()
        try result.write(to: directory)
        let png = directory.appendingPathComponent("report.png").path
        let chromium = try Command.require("chromium")
        let shot = try Command.run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,2200",
                                              "--screenshot=\(png)", directory.appendingPathComponent("report.html").absoluteString])
        try #require(FileManager.default.fileExists(atPath: png), "chromium wrote no screenshot: \(shot.err)")
        let script = directory.appendingPathComponent("count.py").path
        try Self.counter.write(toFile: script, atomically: true, encoding: .utf8)
        let colours = [LabRun.Result.kindColors["access-router"]!, LabRun.Result.flowColors[0], LabRun.Result.flowColors[1],
                       LabRun.Result.arrowColor, LabRun.Result.downlinkColor, LabRun.Result.uplinkColor]
        let counts = try Command.output("/usr/bin/python3", [script, png] + colours).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(counts.count == colours.count)
        // Three access-router discs per phase picture, about 530 pixels each.
        #expect(counts[0] > 2_000, "the network pictures: \(counts[0]) pixels of \(colours[0])")
        #expect(counts[1] > 300 && counts[2] > 100, "the prefixes' paths: \(counts[1]), \(counts[2])")
        #expect(counts[3] > 300, "the ladder's arrows: \(counts[3])")
        #expect(counts[4] > 50 && counts[5] > 40, "the packets around the move: \(counts[4]), \(counts[5])")
    }
}
