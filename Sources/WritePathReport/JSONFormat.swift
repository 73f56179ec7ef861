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
        return String(decoding: data, as: UTF8.self) + "\n"
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
            throw WritePathError.invalidInput(field: source, message: "not valid JSON (\(describe(error))); expected a writepath.result/1 document")
        }
        guard header.schema == ResultDocument.currentSchema else {
            throw WritePathError.invalidInput(field: source, message: "schema is \(header.schema.map { "'\($0)'" } ?? "missing"); expected '\(ResultDocument.currentSchema)'")
        }
        do { return try decoder.decode(ResultDocument.self, from: data) } catch let DecodingError.dataCorrupted(ctx) where ctx.codingPath.isEmpty {
            // Foundation says only "not valid JSON", also for valid JSON with a number that does
            // not fit its field; tell the two apart.
            let valid = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
            throw WritePathError.invalidInput(
                field: source,
                message: "not a valid writepath.result/1 document: " + (valid
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
