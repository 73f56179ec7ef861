import Foundation

/// How each layer is drawn in report.html: a colour, a dash pattern and a marker shape, so that
/// lines and points can be told apart without colour (and in a black-and-white print).
struct LayerStyles {
    /// The layers (or curve labels) in the order they get styles.
    let order: [String]

    init(_ order: [String]) { self.order = order }

    func index(_ layer: String) -> Int { order.firstIndex(of: layer) ?? 0 }

    /// The layer's colour (`#0072B2`).
    func callAsFunction(_ layer: String) -> String { HTMLReport.palette[index(layer) % HTMLReport.palette.count] }

    /// ` stroke-dasharray="8 3"`, or nothing for the solid first style.
    func dash(_ layer: String) -> String {
        let d = HTMLReport.dashes[index(layer) % HTMLReport.dashes.count]
        return d.isEmpty ? "" : " stroke-dasharray=\"\(d)\""
    }

    /// The layer's marker centred at (`x`, `y`), `r` its half-size in SVG units: circle, square,
    /// triangle, diamond, inverted triangle, cross, plus, hexagon.
    func marker(_ layer: String, x: Double, y: Double, r: Double = 3.5) -> String {
        let c = self(layer), f = HTMLReport.f
        let fill = "fill=\"\(c)\" stroke=\"#ffffff\" stroke-width=\"0.8\""
        switch index(layer) % 8 {
        case 0: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(r))\" \(fill)/>"
        case 1: return "<path d=\"M\(f(x - r)) \(f(y - r)) h\(f(2 * r)) v\(f(2 * r)) h\(f(-2 * r)) Z\" \(fill)/>"
        case 2: return "<path d=\"M\(f(x)) \(f(y - r * 1.2)) L\(f(x + r * 1.1)) \(f(y + r * 0.9)) H\(f(x - r * 1.1)) Z\" \(fill)/>"
        case 3:
            return
                "<path d=\"M\(f(x)) \(f(y - r * 1.3)) L\(f(x + r * 1.3)) \(f(y)) L\(f(x)) \(f(y + r * 1.3)) "
                + "L\(f(x - r * 1.3)) \(f(y)) Z\" \(fill)/>"
        case 4: return "<path d=\"M\(f(x)) \(f(y + r * 1.2)) L\(f(x + r * 1.1)) \(f(y - r * 0.9)) H\(f(x - r * 1.1)) Z\" \(fill)/>"
        case 5:
            return
                "<path d=\"M\(f(x - r)) \(f(y - r)) L\(f(x + r)) \(f(y + r)) M\(f(x + r)) \(f(y - r)) L\(f(x - r)) \(f(y + r))\" "
                + "stroke=\"\(c)\" stroke-width=\"2\" fill=\"none\"/>"
        case 6:
            return
                "<path d=\"M\(f(x - r * 1.2)) \(f(y)) H\(f(x + r * 1.2)) M\(f(x)) \(f(y - r * 1.2)) V\(f(y + r * 1.2))\" "
                + "stroke=\"\(c)\" stroke-width=\"2\" fill=\"none\"/>"
        default:
            let pts = (0..<6).map { k -> String in
                let a = Double(k) * Double.pi / 3
                return "\(f(x + r * 1.2 * cos(a))) \(f(y + r * 1.2 * sin(a)))"
            }
            return "<path d=\"M\(pts.joined(separator: " L")) Z\" \(fill)/>"
        }
    }

    /// A small key for tables and legends: the layer's line (dash pattern) with its marker.
    func key(_ layer: String) -> String {
        "<svg class=\"key\" width=\"30\" height=\"12\" viewBox=\"0 0 30 12\" aria-hidden=\"true\">"
            + "<path d=\"M1 6 H29\" stroke=\"\(self(layer))\" stroke-width=\"2\"\(dash(layer)) fill=\"none\"/>"
            + marker(layer, x: 15, y: 6, r: 3.2) + "</svg>"
    }
}
