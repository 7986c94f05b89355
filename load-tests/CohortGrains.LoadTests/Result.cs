using System.Globalization;

namespace CohortGrains.LoadTests;

public sealed record Target(string Name, string Goal, double Measured, string Unit, bool Met);

/// <summary>Everything a run reports: written as JSON and Markdown (with the SVG chart) by <see cref="Report"/>.</summary>
public sealed class ScenarioResult
{
    public required string Scenario { get; init; }
    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? FinishedAt { get; set; }
    public Dictionary<string, object?> Machine { get; init; } = [];
    public Dictionary<string, object?> Parameters { get; init; } = [];
    public Dictionary<string, object?> Figures { get; init; } = [];
    /// <summary>Correctness checks (exactly once, zero errors): a run whose checks fail is a failed run.</summary>
    public Dictionary<string, bool> Checks { get; init; } = [];
    /// <summary>Benchmark targets of issue 7: reported, never asserted (missing one is a finding, not a failure).</summary>
    public List<Target> Targets { get; init; } = [];
    public List<string> Notes { get; init; } = [];
    /// <summary>Seconds since start; throughput (turns/s or requests/s, see ThroughputLabel); lag seconds.</summary>
    public List<Sample> Series { get; init; } = [];
    public string ThroughputLabel { get; set; } = "turns/s (all nodes)";
    public string LagLabel { get; set; } = "oldest due timer lag (s)";
    public string? Error { get; set; }
    public string? JsonPath { get; set; }
    public string? MarkdownPath { get; set; }
    public string? SvgPath { get; set; }

    public bool Passed => Error is null && Checks.Values.All(v => v);

    public void AddTarget(string name, string goal, double measured, string unit, bool met) =>
        Targets.Add(new Target(name, goal, Math.Round(measured, 2), unit, met));

    /// <summary>Cores, memory and load average: figures mean little without the machine (and how busy it was).</summary>
    public static Dictionary<string, object?> DescribeMachine()
    {
        double memGb = 0;
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            memGb = Math.Round(double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024 / 1024, 1);
        }
        catch (IOException)
        {
        }
        return new Dictionary<string, object?>
        {
            ["cores"] = Environment.ProcessorCount,
            ["memoryGb"] = memGb,
            ["loadAverageAtStart"] = LoadAverage(),
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["dotnet"] = Environment.Version.ToString(),
        };
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
