/// Parsing and printing of byte sizes the way fio does.
///
/// fio reads `4k` as 4096 bytes (`kb_base=1024`, its default): k, m, g, t, p suffixes are powers
/// of 1024, with or without a trailing `b`/`ib` (`4k`, `4kb`, `4KiB`). A bare number is bytes.
public enum ByteSize {
    /// Parses `text` into bytes. Throws `invalidInput` naming `field` when it is not a size.
    public static func parse(_ text: String, field: String) throws -> UInt64 {
        let s = text.trimmingWhitespace().lowercased()
        guard !s.isEmpty else {
            throw WritePathError.invalidInput(
                field: field, message: "empty size; expected a number of bytes with an optional k/m/g/t suffix, e.g. 4k")
        }
        var digits = Substring(s)
        var multiplier: UInt64 = 1
        for suffix in ["kib", "mib", "gib", "tib", "pib", "kb", "mb", "gb", "tb", "pb", "k", "m", "g", "t", "p", "b"] {
            if digits.hasSuffix(suffix) {
                digits = digits.dropLast(suffix.count)
                switch suffix.first! {
                case "k": multiplier = 1 << 10
                case "m": multiplier = 1 << 20
                case "g": multiplier = 1 << 30
                case "t": multiplier = 1 << 40
                case "p": multiplier = 1 << 50
                default: multiplier = 1
                }
                break
            }
        }
        guard let value = UInt64(digits) else {
            throw WritePathError.invalidInput(
                field: field,
                message: "\(quoted(text)) is not a size; expected a whole number of bytes with an optional k/m/g/t suffix, e.g. 4k or 256m")
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow, product <= UInt64(Int64.max) else {
            throw WritePathError.invalidInput(field: field, message: "\(quoted(text)) is too large; at most 8 EiB")
        }
        return product
    }

    /// Formats a measured or read-back byte count (bandwidth, a median) with a binary suffix.
    /// Any value is accepted, as results files may hold anything: negative, not finite or
    /// beyond 16 EiB come out as numbers (`-5B`, `nan`), never as a trap.
    public static func format(_ bytes: Double) -> String {
        guard bytes.isFinite else { return formatDecimal(bytes, places: 0) }
        if bytes < 0 { return "-" + format(-bytes) }
        if bytes < 18e18 { return format(UInt64(bytes)) }
        return formatDecimal(bytes / Double(1 << 50), places: 1) + "PiB"
    }

    /// Formats bytes with a binary suffix (`4KiB`, `1.5MiB`), exact where it can be.
    public static func format(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if value == value.rounded() { return "\(Int(value))\(units[unit])" }
        return formatDecimal(value, places: 1) + units[unit]
    }
}

/// Formats `value` with a fixed number of decimal places without Foundation.
public func formatDecimal(_ value: Double, places: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    // Beyond what UInt64 holds exactly (a value read from a result file may be anything).
    guard abs(value) * scale < 9e18 else { return "\(value)" }
    let scaled = (abs(value) * scale).rounded()
    // Whole and fraction from one integer: dividing the Double could round up past it
    // (above 2^53) and make the fraction negative.
    let units = UInt64(scaled), unitsPerWhole = UInt64(scale)
    let whole = units / unitsPerWhole
    var frac = String(units % unitsPerWhole)
    while frac.count < places { frac = "0" + frac }
    let sign = value < 0 && scaled != 0 ? "-" : ""
    return places == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\r" || c == "\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\n" { s = s.dropLast() }
        return String(s)
    }
}

/// `text` made safe for a one-line error message: control characters (newlines, tabs, escape)
/// are shown escaped, and text longer than `limit` characters is cut, with its length noted.
/// Input is data: a job file's 100,000-character line must not become a 100,000-character message.
public func clipped(_ text: String, limit: Int = 256) -> String {
    var out = ""
    var count = 0
    for c in text {
        if count == limit {
            return out + "…(\(text.count) characters)"
        }
        if c.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" }) {
            out += c.unicodeScalars.map { $0.escaped(asASCII: true) }.joined()
        } else {
            out.append(c)
        }
        count += 1
    }
    return out
}

/// `text` safe to print on a terminal: every control character (escape, carriage return, tab,
/// newline, C1) is shown escaped (`\u{1B}`), so that data such as a job name cannot move the
/// cursor, recolour or rewrite the screen. Nothing is cut.
public func printable(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isTerminalControl) else { return text }
    return text.unicodeScalars.map { isTerminalControl($0) ? $0.escaped(asASCII: true) : String($0) }.joined()
}

/// Terminal output made safe line by line: control characters other than the newlines that end
/// its lines are escaped, as `printable` does.
public func printableLines(_ output: String) -> String {
    output.split(separator: "\n", omittingEmptySubsequences: false).map { printable(String($0)) }.joined(separator: "\n")
}

private func isTerminalControl(_ u: Unicode.Scalar) -> Bool {
    u.properties.generalCategory == .control || u == "\u{2028}" || u == "\u{2029}"
}

/// `text` in single quotes for an error message, made one line and short by `clipped`.
public func quoted(_ text: String, limit: Int = 256) -> String {
    "'\(clipped(text, limit: limit))'"
}

/// `2`, `2.5`, `99.9`: at most `places` decimals, without trailing zeros.
public func trimmedNumber(_ v: Double, places: Int) -> String {
    var s = formatDecimal(v, places: places)
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

/// A count with an SI suffix as fio prints IOPS (`523k`, `12.5M`).
public func formatSI(_ v: Double) -> String {
    if v >= 10_000_000 { return formatDecimal(v / 1_000_000, places: 1) + "M" }
    if v >= 10_000 { return formatDecimal(v / 1000, places: 1) + "k" }
    return formatDecimal(v, places: 0)
}
