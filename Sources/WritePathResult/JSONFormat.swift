import Foundation
import WritePathEngine

/// The JSON result document (`writepath.result/1`).
public enum JSONFormat {
    /// Encodes `document` as pretty-printed JSON with a trailing newline.
    public static func render(_ document: ResultDocument) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(document)
        return compactNumberArrays(String(decoding: data, as: UTF8.self)) + "\n"
    }

    /// Puts arrays of numbers, and arrays of such arrays (histogram buckets), on one line:
    /// pretty-printed one number per line they would make a result file several times larger.
    static func compactNumberArrays(_ text: String) -> String {
        let number = #"-?[0-9][0-9.eE+-]*"#
        let flat = try! NSRegularExpression(pattern: #"\[\s*("# + number + #"(?:\s*,\s*"# + number + #")*)\s*\]"#)
        let nested = try! NSRegularExpression(pattern: #"\[\s*(\[[-0-9.eE+, ]*\](?:\s*,\s*\[[-0-9.eE+, ]*\])*)\s*\]"#)
        func collapse(_ s: String, _ re: NSRegularExpression) -> String {
            let ns = s as NSString
            var out = ""
            var last = 0
            for m in re.matches(in: s, range: NSRange(location: 0, length: ns.length)) {
                out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
                let inner = ns.substring(with: m.range(at: 1))
                let parts = inner.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == " " })
                if re === flat {
                    out += "[" + parts.joined(separator: ",") + "]"
                } else {
                    out += "[" + inner.replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: " ", with: "") + "]"
                }
                last = m.range.location + m.range.length
            }
            out += ns.substring(from: last)
            return out
        }
        return collapse(collapse(text, flat), nested)
    }

    /// Decodes a result document; throws `invalidInput` naming `source` when it is not one.
    public static func parse(_ data: Data, source: String) throws -> ResultDocument {
        guard !data.isEmpty else {
            throw WritePathError.invalidInput(field: source, message: "empty file; expected a writepath.result/1 JSON document")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        struct Header: Decodable { var schema: String? }
        let header: Header
        do { header = try decoder.decode(Header.self, from: data) } catch {
            throw WritePathError.invalidInput(
                field: source, message: "not valid JSON (\(describe(error))); expected a writepath.result/1 document")
        }
        guard header.schema == ResultDocument.currentSchema else {
            throw WritePathError.invalidInput(
                field: source,
                message: "schema is \(header.schema.map { "'\($0)'" } ?? "missing"); expected '\(ResultDocument.currentSchema)'")
        }
        do { return try decoder.decode(ResultDocument.self, from: data) } catch let DecodingError.dataCorrupted(ctx)
            where ctx.codingPath.isEmpty
        {
            // Foundation says only "not valid JSON", also for valid JSON with a number that does
            // not fit its field; tell the two apart.
            let valid = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
            throw WritePathError.invalidInput(
                field: source,
                message: "not a valid writepath.result/1 document: "
                    + (valid
                        ? "a number does not fit its field (negative, fractional or too large where a whole count is expected)"
                        : "not valid JSON (\(clipped(ctx.debugDescription, limit: 160)))"))
        } catch {
            throw WritePathError.invalidInput(field: source, message: "not a valid writepath.result/1 document: \(describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, ctx):
            return "missing key '\((ctx.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx):
            return "wrong type at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))'"
        case let DecodingError.dataCorrupted(ctx):
            // The decoder's own words, where it has any.
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            let detail = clipped(ctx.debugDescription, limit: 160)
            return path.isEmpty ? "corrupted data: \(detail)" : "bad value at '\(path)': \(detail)"
        default:
            return "\(error)"
        }
    }
}
