import Foundation

/// A QR code (ISO/IEC 18004) for the 2FA enrollment page: byte mode, error correction level M,
/// versions 1–15 (up to 412 bytes, enough for an `otpauth://` URI with a long e-mail address).
/// Confidant renders it itself so the secret never leaves the server for a third-party service,
/// and as SVG so the page needs no image library and no inline script. Tests decode the result
/// with zbarimg, an implementation independent of this one.
struct QRCode: Sendable {
    /// Width and height in modules, without the quiet zone.
    let size: Int
    /// Row-major modules; true is dark.
    let modules: [[Bool]]

    /// Level M blocks per version: EC codewords per block, then (blocks, data codewords) groups.
    private static let blocks: [(ec: Int, groups: [(count: Int, data: Int)])] = [
        (10, [(1, 16)]), (16, [(1, 28)]), (26, [(1, 44)]), (18, [(2, 32)]), (24, [(2, 43)]),
        (16, [(4, 27)]), (18, [(4, 31)]), (22, [(2, 38), (2, 39)]), (22, [(3, 36), (2, 37)]), (26, [(4, 43), (1, 44)]),
        (30, [(1, 50), (4, 51)]), (22, [(6, 36), (2, 37)]), (22, [(8, 37), (1, 38)]), (24, [(4, 40), (5, 41)]), (24, [(5, 41), (5, 42)]),
    ]

    /// Centres of the alignment patterns per version (version 1 has none).
    private static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
        [6, 30, 54], [6, 32, 58], [6, 34, 62], [6, 26, 46, 66], [6, 26, 48, 70],
    ]

    /// The largest payload in bytes.
    static var capacity: Int { dataCapacity(version: blocks.count) - 3 }

    enum EncodingError: Error {
        case tooLong(Int)
    }

    /// Encodes `text` (as UTF-8 bytes) in the smallest version that holds it, with the mask of
    /// the lowest penalty.
    init(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard
            let version = (1...Self.blocks.count).first(where: {
                Self.dataCapacity(version: $0) * 8 >= Self.headerBits(version: $0, bytes: bytes) + bytes.count * 8
            })
        else { throw EncodingError.tooLong(bytes.count) }
        let codewords = Self.interleave(Self.dataCodewords(bytes, version: version), version: version)
        var builder = Builder(version: version)
        builder.drawFunctionPatterns()
        builder.drawCodewords(codewords)
        var best: (penalty: Int, modules: [[Bool]])?
        for mask in 0..<8 {
            var candidate = builder
            candidate.applyMask(mask)
            candidate.drawFormat(mask: mask)
            let penalty = candidate.penalty()
            if best == nil || penalty < best!.penalty { best = (penalty, candidate.modules) }
        }
        self.size = builder.size
        self.modules = best!.modules
    }

    /// An SVG image with a 4-module quiet zone; `label` becomes its accessible name.
    func svg(label: String) -> String {
        let border = 4
        let width = size + 2 * border
        var path = ""
        for (y, row) in modules.enumerated() {
            var x = 0
            while x < size {
                guard row[x] else {
                    x += 1
                    continue
                }
                let start = x
                while x < size && row[x] { x += 1 }
                path += "M\(start + border) \(y + border)h\(x - start)v1h-\(x - start)z"
            }
        }
        let escaped = label.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: "\"", with: "&quot;")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) \(width)" shape-rendering="crispEdges" role="img" aria-label="\(escaped)">\
            <rect width="\(width)" height="\(width)" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }

    // MARK: Data

    private static func dataCapacity(version: Int) -> Int {
        blocks[version - 1].groups.reduce(0) { $0 + $1.count * $1.data }
    }

    /// Mode indicator and character count: 4 + 8 bits up to version 9, 4 + 16 after; 12 more for
    /// the UTF-8 ECI designator when the text is not ASCII.
    private static func headerBits(version: Int, bytes: [UInt8] = []) -> Int {
        (version <= 9 ? 12 : 20) + (bytes.contains { $0 >= 0x80 } ? 12 : 0)
    }

    /// Mode, count, bytes, terminator and padding, as data codewords.
    private static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) }
        }
        let capacityBits = dataCapacity(version: version) * 8
        if bytes.contains(where: { $0 >= 0x80 }) {
            append(0b0111, 4)  // ECI: the bytes that follow are UTF-8 (assignment 26)
            append(26, 8)
        }
        append(0b0100, 4)
        append(bytes.count, version <= 9 ? 8 : 16)
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, capacityBits - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var codewords = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { ($0 << 1) | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while codewords.count < dataCapacity(version: version) {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    /// Splits the data into blocks, adds each block's Reed–Solomon codewords, and interleaves.
    private static func interleave(_ data: [UInt8], version: Int) -> [UInt8] {
        let layout = blocks[version - 1]
        var dataBlocks: [[UInt8]] = []
        var offset = 0
        for group in layout.groups {
            for _ in 0..<group.count {
                dataBlocks.append(Array(data[offset..<offset + group.data]))
                offset += group.data
            }
        }
        let divisor = ReedSolomon.generator(degree: layout.ec)
        let ecBlocks = dataBlocks.map { ReedSolomon.remainder(of: $0, divisor: divisor) }
        var result: [UInt8] = []
        for index in 0..<(dataBlocks.map(\.count).max() ?? 0) {
            for block in dataBlocks where index < block.count { result.append(block[index]) }
        }
        for index in 0..<layout.ec {
            for block in ecBlocks { result.append(block[index]) }
        }
        return result
    }

    // MARK: Matrix

    /// The matrix under construction: modules and which of them are function patterns.
    private struct Builder {
        let version: Int
        let size: Int
        var modules: [[Bool]]
        var isFunction: [[Bool]]

        init(version: Int) {
            self.version = version
            self.size = 17 + 4 * version
            self.modules = Array(repeating: Array(repeating: false, count: size), count: size)
            self.isFunction = modules
        }

        mutating func set(x: Int, y: Int, _ dark: Bool) {
            modules[y][x] = dark
            isFunction[y][x] = true
        }

        mutating func drawFunctionPatterns() {
            for i in 0..<size {
                set(x: 6, y: i, i % 2 == 0)
                set(x: i, y: 6, i % 2 == 0)
            }
            drawFinder(x: 3, y: 3)
            drawFinder(x: size - 4, y: 3)
            drawFinder(x: 3, y: size - 4)
            let centres = QRCode.alignment[version - 1]
            for (i, cy) in centres.enumerated() {
                for (j, cx) in centres.enumerated() {
                    let last = centres.count - 1
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                    for dy in -2...2 {
                        for dx in -2...2 { set(x: cx + dx, y: cy + dy, max(abs(dx), abs(dy)) != 1) }
                    }
                }
            }
            drawFormat(mask: 0)  // reserves the format areas; drawn again once the mask is chosen
            if version >= 7 {
                var remainder = version
                for _ in 0..<12 { remainder = (remainder << 1) ^ ((remainder >> 11) * 0x1F25) }
                let bits = version << 12 | remainder
                for i in 0..<18 {
                    let dark = (bits >> i) & 1 == 1
                    let a = size - 11 + i % 3
                    let b = i / 3
                    set(x: a, y: b, dark)
                    set(x: b, y: a, dark)
                }
            }
        }

        /// A 7×7 finder centred at (x, y) with its light separator.
        mutating func drawFinder(x: Int, y: Int) {
            for dy in -4...4 {
                for dx in -4...4 {
                    let (px, py) = (x + dx, y + dy)
                    guard (0..<size).contains(px), (0..<size).contains(py) else { continue }
                    let distance = max(abs(dx), abs(dy))
                    set(x: px, y: py, distance != 2 && distance != 4)
                }
            }
        }

        /// The 15 format bits (level M, the mask), twice, and the dark module.
        mutating func drawFormat(mask: Int) {
            let data = 0b00 << 3 | mask
            var remainder = data
            for _ in 0..<10 { remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537) }
            let bits = (data << 10 | remainder) ^ 0x5412
            func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
            for i in 0...5 { set(x: 8, y: i, bit(i)) }
            set(x: 8, y: 7, bit(6))
            set(x: 8, y: 8, bit(7))
            set(x: 7, y: 8, bit(8))
            for i in 9..<15 { set(x: 14 - i, y: 8, bit(i)) }
            for i in 0..<8 { set(x: size - 1 - i, y: 8, bit(i)) }
            for i in 8..<15 { set(x: 8, y: size - 15 + i, bit(i)) }
            set(x: 8, y: size - 8, true)
        }

        /// Places codewords in the two-column zigzag from the bottom right, skipping function
        /// modules and the vertical timing column; leftover modules stay light (remainder bits).
        mutating func drawCodewords(_ codewords: [UInt8]) {
            var index = 0
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vertical in 0..<size {
                    for j in 0..<2 {
                        let x = right - j
                        let upward = (right + 1) & 2 == 0
                        let y = upward ? size - 1 - vertical : vertical
                        if !isFunction[y][x] && index < codewords.count * 8 {
                            modules[y][x] = (codewords[index >> 3] >> (7 - (index & 7))) & 1 == 1
                            index += 1
                        }
                    }
                }
                right -= 2
            }
        }

        mutating func applyMask(_ mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !isFunction[y][x] {
                    let flip: Bool
                    switch mask {
                    case 0: flip = (x + y) % 2 == 0
                    case 1: flip = y % 2 == 0
                    case 2: flip = x % 3 == 0
                    case 3: flip = (x + y) % 3 == 0
                    case 4: flip = (x / 3 + y / 2) % 2 == 0
                    case 5: flip = x * y % 2 + x * y % 3 == 0
                    case 6: flip = (x * y % 2 + x * y % 3) % 2 == 0
                    default: flip = ((x + y) % 2 + x * y % 3) % 2 == 0
                    }
                    if flip { modules[y][x].toggle() }
                }
            }
        }

        /// The standard's penalty: long runs, 2×2 blocks, finder-like patterns, dark imbalance.
        func penalty() -> Int {
            var total = 0
            let columns = (0..<size).map { x in modules.map { $0[x] } }
            for line in modules + columns {
                var run = 1
                for i in 1..<size {
                    if line[i] == line[i - 1] {
                        run += 1
                    } else {
                        if run >= 5 { total += run - 2 }
                        run = 1
                    }
                }
                if run >= 5 { total += run - 2 }
                let patterns: [[Bool]] = [
                    [true, false, true, true, true, false, true, false, false, false, false],
                    [false, false, false, false, true, false, true, true, true, false, true],
                ]
                for start in 0...(size - 11) {
                    for pattern in patterns where Array(line[start..<start + 11]) == pattern { total += 40 }
                }
            }
            for y in 0..<size - 1 {
                for x in 0..<size - 1 {
                    let colour = modules[y][x]
                    if modules[y][x + 1] == colour && modules[y + 1][x] == colour && modules[y + 1][x + 1] == colour { total += 3 }
                }
            }
            let dark = modules.reduce(0) { $0 + $1.filter { $0 }.count }
            total += abs(dark * 20 - size * size * 10) / (size * size) * 10
            return total
        }
    }
}

/// Reed–Solomon error correction over GF(256) with the QR polynomial x⁸+x⁴+x³+x²+1.
private enum ReedSolomon {
    static let (exp, log): ([UInt8], [Int]) = {
        var exp = [UInt8](repeating: 0, count: 512)
        var log = [Int](repeating: 0, count: 256)
        var value = 1
        for i in 0..<255 {
            exp[i] = UInt8(value)
            log[value] = i
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        for i in 255..<512 { exp[i] = exp[i - 255] }
        return (exp, log)
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        a == 0 || b == 0 ? 0 : exp[log[Int(a)] + log[Int(b)]]
    }

    /// The generator polynomial ∏(x − αⁱ), i < degree, highest coefficient first (without the leading 1).
    static func generator(degree: Int) -> [UInt8] {
        var polynomial: [UInt8] = [1]
        for i in 0..<degree {
            var next = [UInt8](repeating: 0, count: polynomial.count + 1)
            for (j, coefficient) in polynomial.enumerated() {
                next[j] ^= coefficient
                next[j + 1] ^= multiply(coefficient, exp[i])
            }
            polynomial = next
        }
        return Array(polynomial.dropFirst())
    }

    /// The remainder of data·x^degree divided by the generator: the error correction codewords.
    static func remainder(of data: [UInt8], divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result[0]
            result.removeFirst()
            result.append(0)
            for i in divisor.indices { result[i] ^= multiply(divisor[i], factor) }
        }
        return result
    }
}
