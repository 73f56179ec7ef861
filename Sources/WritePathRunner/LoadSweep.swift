import WritePathEngine

/// The offered load a sweep steps through: one workload option and its values, lowest first.
public struct LoadSweep: Sendable, Equatable, CustomStringConvertible {
    /// The workload options a sweep can step.
    public enum Parameter: String, Sendable, CaseIterable {
        /// I/Os in flight per job: closed-loop load.
        case iodepth
        /// I/Os per second per job: open-loop load (fio's rate_iops).
        case rate_iops

        /// The values the workload accepts.
        var range: ClosedRange<Int> { self == .iodepth ? 1...32768 : 1...100_000_000 }
    }

    public var parameter: Parameter
    /// Strictly increasing, at least one.
    public var values: [Int]

    /// Steps at most.
    public static let maximumSteps = 64
    /// iodepth 1, 2, 4 ... 256.
    public static let defaultSweep = LoadSweep(parameter: .iodepth, values: (0...8).map { 1 << $0 })

    public init(parameter: Parameter, values: [Int]) {
        self.parameter = parameter
        self.values = values
    }

    /// `iodepth=1,2,4,8`.
    public var description: String { "\(parameter.rawValue)=\(values.map(String.init).joined(separator: ","))" }

    /// Sets the swept option of `workload` to `value`.
    public func apply(_ value: Int, to workload: inout Workload) {
        switch parameter {
        case .iodepth: workload.iodepth = value
        case .rate_iops: workload.rate_iops = value
        }
    }

    /// The offered load of a step, over every job and tenant: I/Os in flight (iodepth) or I/Os per
    /// second (rate_iops).
    public func offered(_ value: Int, numjobs: Int, tenants: Int) -> Double { Double(value * numjobs * tenants) }

    /// Parses a sweep. Forms (values are whole numbers; `k` multiplies by 1000):
    ///
    ///     iodepth=1,2,4,8                  the values listed, increasing
    ///     iodepth=1:max=256                from 1, doubling, up to 256
    ///     rate_iops=1000:step=1000:max=20k from 1000 in steps of 1000 up to 20000
    ///     rate_iops=500:factor=1.5:max=50k from 500, multiplying by 1.5 (rounded) up to 50000
    ///
    /// Throws `invalidInput` naming `field` for anything else, more than `maximumSteps` steps, or a
    /// value the option does not accept.
    public static func parse(_ text: String, field: String = "sweep") throws -> LoadSweep {
        let forms = "expected iodepth=1,2,4,8 or iodepth=1:max=256 or rate_iops=1000:step=1000:max=20k (or :factor=2)"
        let kv = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard kv.count == 2 else { throw WritePathError.invalidInput(field: field, message: "'\(text)' is not a sweep; \(forms)") }
        guard let parameter = Parameter(rawValue: kv[0].lowercased()) else {
            throw WritePathError.invalidInput(
                field: field,
                message: "'\(kv[0])' cannot be swept; expected one of \(Parameter.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func number(_ s: String) throws -> Int {
            let t = s.lowercased()
            let (digits, scale) = t.hasSuffix("k") ? (String(t.dropLast()), 1000) : (t, 1)
            guard let v = Int(digits), v >= 1, v <= Int.max / 1000, parameter.range.contains(v * scale) else {
                throw WritePathError.invalidInput(
                    field: field,
                    message:
                        "'\(s)' is not a \(parameter.rawValue) from \(parameter.range.lowerBound) to "
                        + "\(parameter.range.upperBound); \(forms)"
                )
            }
            return v * scale
        }
        var values: [Int] = []
        let parts = kv[1].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1 {
            values = try parts[0].split(separator: ",", omittingEmptySubsequences: false).map { try number(String($0)) }
            for i in values.indices.dropFirst() where values[i] <= values[i - 1] {
                throw WritePathError.invalidInput(field: field, message: "values must increase: \(values[i]) follows \(values[i - 1])")
            }
        } else {
            let start = try number(parts[0])
            var maximum: Int?, step: Int?, factor: Double?
            for p in parts.dropFirst() {
                let o = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard o.count == 2 else {
                    throw WritePathError.invalidInput(field: field, message: "'\(p)' is not max=, step= or factor=; \(forms)")
                }
                switch o[0].lowercased() {
                case "max": maximum = try number(o[1])
                case "step": step = try number(o[1])
                case "factor":
                    guard let f = Double(o[1]), f > 1, f <= 1000 else {
                        throw WritePathError.invalidInput(field: field, message: "factor '\(o[1])' must be a number above 1, e.g. factor=2")
                    }
                    factor = f
                default: throw WritePathError.invalidInput(field: field, message: "'\(o[0])' is not max, step or factor; \(forms)")
                }
            }
            guard let maximum else {
                throw WritePathError.invalidInput(
                    field: field, message: "'\(text)' needs max=, e.g. \(parameter.rawValue)=\(start):max=\(start * 16)")
            }
            guard maximum >= start else {
                throw WritePathError.invalidInput(field: field, message: "max=\(maximum) is below the start \(start)")
            }
            if step != nil && factor != nil { throw WritePathError.invalidInput(field: field, message: "give step= or factor=, not both") }
            var v = start
            while v <= maximum {
                values.append(v)
                if values.count > maximumSteps { break }
                let next = step.map { v + $0 } ?? Int((Double(v) * (factor ?? 2)).rounded())
                v = max(next, v + 1)
            }
        }
        guard values.count <= maximumSteps else {
            throw WritePathError.invalidInput(
                field: field, message: "'\(text)' makes more than \(maximumSteps) steps; use a larger step or factor")
        }
        return LoadSweep(parameter: parameter, values: values)
    }
}
