using System.Globalization;
using System.Text;

namespace CohortGrains.Host.Imports;

/// <summary>RFC 4180 CSV: quoted fields with doubled quotes, commas and line breaks inside quotes, CRLF or LF, a BOM.</summary>
public static class Csv
{
    /// <summary>One record and the line it starts on (1-based), as a spreadsheet shows it.</summary>
    public sealed record Row(int Line, IReadOnlyList<string> Fields);

    public sealed class FormatException(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }

    public static IReadOnlyList<Row> Parse(string text)
    {
        var rows = new List<Row>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var rowStart = 1;
        var inQuotes = false;
        var quotedField = false;
        var i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        void EndField()
        {
            fields.Add(field.ToString());
            field.Clear();
            quotedField = false;
        }
        void EndRow()
        {
            EndField();
            // A blank line (one empty, unquoted field) is not a record: spreadsheets leave them at the end.
            if (!(fields.Count == 1 && fields[0].Length == 0)) rows.Add(new Row(rowStart, fields.ToList()));
            fields.Clear();
        }
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else inQuotes = false;
                }
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '"' when field.Length == 0 && !quotedField:
                    inQuotes = quotedField = true;
                    break;
                case '"':
                    throw new FormatException(line, $"line {line}: a quote inside an unquoted field (quote the whole field and double the quote)");
                case ',':
                    EndField();
                    break;
                case '\r':
                    break;
                case '\n':
                    EndRow();
                    line++;
                    rowStart = line;
                    break;
                default:
                    if (quotedField) throw new FormatException(line, $"line {line}: text after a closing quote");
                    field.Append(c);
                    break;
            }
        }
        if (inQuotes) throw new FormatException(rowStart, $"line {rowStart}: a quoted field is never closed");
        if (field.Length > 0 || fields.Count > 0 || quotedField) EndRow();
        return rows;
    }

    /// <summary>Writes one CSV line (CRLF), quoting where needed and defusing formulas.</summary>
    public static void AppendRow(StringBuilder sb, IEnumerable<object?> values)
    {
        var first = true;
        foreach (var value in values)
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append(Field(value));
        }
        sb.Append("\r\n");
    }

    public static string Field(object? value)
    {
        var s = value switch
        {
            null => "",
            DateTimeOffset d => d.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        // A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection): a client's name must stay text.
        // Plain numbers ("+14155550101", "-3") are left alone: they cannot call anything.
        if (s.Length > 0 && s[0] is '=' or '+' or '-' or '@' or '\t' or '\r' && !IsPlainNumber(s)) s = "'" + s;
        return s.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }

    private static bool IsPlainNumber(string s) => s.Length > 1 && s.Skip(1).All(c => char.IsAsciiDigit(c) || c == '.') && s.Skip(1).Any(char.IsAsciiDigit);
}
