/// `results.jsonl`: the long table (`LongTable`) as JSON Lines, one object per run × direction
/// with the table's columns as keys in its order; numbers are JSON numbers, a value the run does
/// not have is `null`. `pandas.read_json(path, lines=True)` and `jq -s` read it.
public enum JSONLinesFormat {
    /// One line per row of `table`, each ending in a newline.
    public static func render(_ table: LongTable) -> String {
        let keys = table.columns.map(string)
        var out = ""
        for row in table.rows {
            let fields = zip(keys, row).map { key, cell in
                switch cell {
                case let .number(n): "\(key):\(n)"
                case let .text(t): "\(key):\(string(t))"
                case .missing: "\(key):null"
                }
            }
            out += "{" + fields.joined(separator: ",") + "}\n"
        }
        return out
    }

    /// `s` as a JSON string literal (RFC 8259: `"` and `\` escaped, control characters as `\uXXXX`).
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
