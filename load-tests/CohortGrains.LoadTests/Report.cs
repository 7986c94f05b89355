using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CohortGrains.LoadTests;

/// <summary>Writes a run's results: &lt;scenario&gt;-&lt;date&gt;.json, .md and .svg (the chart the .md links).</summary>
public static class Report
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void Write(ScenarioResult r, string directory)
    {
        Directory.CreateDirectory(directory);
        var stem = Path.Combine(directory, $"{r.Scenario}-{r.StartedAt:yyyy-MM-dd-HHmmss}");
        r.JsonPath = stem + ".json";
        r.MarkdownPath = stem + ".md";
        r.SvgPath = stem + ".svg";
        File.WriteAllText(r.SvgPath, Svg(r));
        File.WriteAllText(r.JsonPath, JsonSerializer.Serialize(new
        {
            r.Scenario, r.StartedAt, r.FinishedAt, r.Passed, r.Error, r.Machine, r.Parameters, r.Figures, r.Checks, r.Targets, r.Notes,
            chart = Path.GetFileName(r.SvgPath), series = new { throughput = r.ThroughputLabel, lag = r.LagLabel, samples = r.Series },
        }, s_json));
        File.WriteAllText(r.MarkdownPath, Markdown(r));
    }

    private static string F(object? v) => v switch
    {
        null => "–",
        double d => d.ToString("#,0.##", CultureInfo.InvariantCulture),
        float f => f.ToString("#,0.##", CultureInfo.InvariantCulture),
        int or long => Convert.ToInt64(v, CultureInfo.InvariantCulture).ToString("#,0", CultureInfo.InvariantCulture),
        System.Collections.IDictionary dict => string.Join(", ", dict.Keys.Cast<object>().Select(k => $"{k} {F(dict[k])}")),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Markdown(ScenarioResult r)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Load test `{r.Scenario}` — {r.StartedAt:yyyy-MM-dd HH:mm} UTC");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Result: **{(r.Passed ? "checks passed" : "FAILED")}**{(r.Error is null ? "" : $" — {r.Error}")}");
        md.AppendLine();
        md.AppendLine("## Machine");
        md.AppendLine();
        foreach (var (k, v) in r.Machine) md.AppendLine(CultureInfo.InvariantCulture, $"- {k}: {F(v)}");
        md.AppendLine();
        md.AppendLine("## Parameters");
        md.AppendLine();
        foreach (var (k, v) in r.Parameters) md.AppendLine(CultureInfo.InvariantCulture, $"- {k}: {F(v)}");
        md.AppendLine();
        if (r.Targets.Count > 0)
        {
            md.AppendLine("## Targets (issue 7)");
            md.AppendLine();
            md.AppendLine("| target | goal | measured | met |");
            md.AppendLine("|---|---|---|---|");
            foreach (var t in r.Targets) md.AppendLine(CultureInfo.InvariantCulture, $"| {t.Name} | {t.Goal} | {F(t.Measured)} {t.Unit} | {(t.Met ? "yes" : "**no**")} |");
            md.AppendLine();
        }
        md.AppendLine("## Checks");
        md.AppendLine();
        foreach (var (k, v) in r.Checks) md.AppendLine(CultureInfo.InvariantCulture, $"- {k}: {(v ? "passed" : "**FAILED**")}");
        md.AppendLine();
        md.AppendLine("## Figures");
        md.AppendLine();
        md.AppendLine("| figure | value |");
        md.AppendLine("|---|---|");
        foreach (var (k, v) in r.Figures) md.AppendLine(CultureInfo.InvariantCulture, $"| {k} | {F(v)} |");
        md.AppendLine();
        if (r.Notes.Count > 0)
        {
            md.AppendLine("## Notes");
            md.AppendLine();
            foreach (var n in r.Notes) md.AppendLine("- " + n);
            md.AppendLine();
        }
        md.AppendLine(CultureInfo.InvariantCulture, $"![throughput and lag over time]({Path.GetFileName(r.SvgPath)})");
        return md.ToString();
    }

    /// <summary>Two lines over time on one chart: throughput (left axis, blue) and lag (right axis, red).</summary>
    public static string Svg(ScenarioResult r)
    {
        const int w = 800, h = 320, left = 60, right = 60, top = 30, bottom = 40;
        var s = r.Series;
        var maxT = Math.Max(1, s.Count == 0 ? 1 : s.Max(x => x.T));
        var maxY = Nice(s.Count == 0 ? 1 : s.Max(x => x.Throughput));
        var maxL = Nice(s.Count == 0 ? 1 : s.Max(x => x.LagSeconds));
        string X(double t) => (left + t / maxT * (w - left - right)).ToString("0.#", CultureInfo.InvariantCulture);
        string Y(double v, double max) => (top + (1 - v / max) * (h - top - bottom)).ToString("0.#", CultureInfo.InvariantCulture);
        string Esc(string t) => System.Security.SecurityElement.Escape(t) ?? "";
        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.AppendLine(CultureInfo.InvariantCulture, $"<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
        svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"18\" font-size=\"13\">{Esc($"{r.Scenario} — {r.StartedAt:yyyy-MM-dd HH:mm} UTC")}</text>");
        for (var i = 0; i <= 4; i++)
        {
            var y = top + i * (h - top - bottom) / 4.0;
            svg.AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" x2=\"{w - right}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"#ddd\"/>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{y + 4:0.#}\" text-anchor=\"end\" fill=\"#1f5fbf\">{maxY * (4 - i) / 4:#,0.#}</text>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{w - right + 4}\" y=\"{y + 4:0.#}\" fill=\"#c0392b\">{maxL * (4 - i) / 4:#,0.#}</text>");
        }
        for (var i = 0; i <= 5; i++)
        {
            var t = maxT * i / 5;
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{X(t)}\" y=\"{h - bottom + 16}\" text-anchor=\"middle\">{t:0.#} s</text>");
        }
        if (s.Count > 0)
        {
            svg.AppendLine(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"{string.Join(' ', s.Select(p => $"{X(p.T)},{Y(p.Throughput, maxY)}"))}\"/>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" stroke-dasharray=\"5,3\" points=\"{string.Join(' ', s.Select(p => $"{X(p.T)},{Y(p.LagSeconds, maxL)}"))}\"/>");
        }
        svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{h - 6}\" fill=\"#1f5fbf\">— {Esc(r.ThroughputLabel)} (left)</text>");
        svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{w - right}\" y=\"{h - 6}\" text-anchor=\"end\" fill=\"#c0392b\">- - {Esc(r.LagLabel)} (right)</text>");
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static double Nice(double max)
    {
        if (max <= 0) return 1;
        var p = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var m in new[] { 1, 2, 2.5, 5, 10 }) if (max <= m * p) return m * p;
        return 10 * p;
    }
}
