/// `results-long.csv`: the long table (`LongTable`), one row per run × direction, every layer
/// setting and workload option in its own column. RFC 4180 quoting (`CSVFormat.escape`); an
/// empty cell is a value the run does not have. `pandas.read_csv` reads it as it is.
public enum LongCSVFormat {
    /// The header and one line per row of `table`.
    public static func render(_ table: LongTable) -> String {
        var out = table.columns.map(CSVFormat.escape).joined(separator: ",") + "\n"
        for row in table.rows { out += row.map { CSVFormat.escape($0.plain) }.joined(separator: ",") + "\n" }
        return out
    }
}
