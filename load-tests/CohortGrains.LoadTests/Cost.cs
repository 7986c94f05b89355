using System.Diagnostics;
using System.Globalization;

namespace CohortGrains.LoadTests;

/// <summary>
/// What a phase cost, as the difference of two readings: CPU seconds used so far by the nodes, the cluster's PostgreSQL
/// and this generator (with its fake SMS endpoint), read from /proc, and the bytes of WAL the database has written.
/// Everything runs on one machine, so where a figure is missed the CPU says who spent the cores: the nodes, the
/// database or the generator measuring them. The WAL per operation depends mostly on the code and the data, not on how
/// fast the machine is (where checkpoints fall moves it a little), so it compares runs on machines, or hours, of
/// different speed better than CPU and throughput do.
/// </summary>
public sealed record CostReading(double Nodes, double? Postgres, double Generator, long WalBytes)
{
    // /proc reports times in USER_HZ, which Linux fixes at 100 for user space whatever the kernel's own tick.
    private const double TicksPerSecond = 100;

    /// <param name="postmasterPid">PostgreSQL's postmaster, or null when it is not on this machine (then Postgres is null).</param>
    /// <param name="walBytes">The database's WAL position (pg_current_wal_lsn, in bytes).</param>
    public static CostReading Read(IEnumerable<int> nodePids, int? postmasterPid, long walBytes) => new(
        nodePids.Sum(pid => Ticks(pid, children: false) ?? 0) / TicksPerSecond,
        postmasterPid is { } pm ? PostgresTicks(pm) / TicksPerSecond : null,
        Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
        walBytes);

    public static CostReading operator -(CostReading after, CostReading before) =>
        new(after.Nodes - before.Nodes, after.Postgres - before.Postgres, after.Generator - before.Generator, after.WalBytes - before.WalBytes);

    /// <summary>CPU per unit of work (ms) and cores used on average, for a phase of <paramref name="seconds"/>.</summary>
    public Dictionary<string, object?> Summary(double units, double seconds, string unit) => new()
    {
        [$"msPer{unit}"] = Per(v => v * 1000 / Math.Max(units, 1)),
        ["coresUsed"] = Per(v => v / Math.Max(seconds, 0.001)),
    };

    /// <summary>WAL written per unit of work, in kB: everything the database logged during the phase, checkpoints' full-page images included.</summary>
    public double WalKbPer(double units) => Math.Round(WalBytes / 1024.0 / Math.Max(units, 1), 2);

    private Dictionary<string, double?> Per(Func<double, double> f) => new()
    {
        ["nodes"] = Math.Round(f(Nodes), 3),
        ["postgres"] = Postgres is { } pg ? Math.Round(f(pg), 3) : null,
        ["generator"] = Math.Round(f(Generator), 3),
    };

    /// <summary>A process's parent, or null when there is no such process here (a PostgreSQL on another machine).</summary>
    public static int? ParentOf(int pid) =>
        Stat(pid) is { } f && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) ? parent : null;

    /// <summary>The postmaster with its live backends and what it reaped (backends that have exited).</summary>
    private static double PostgresTicks(int postmaster)
    {
        var total = Ticks(postmaster, children: true) ?? 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Stat(pid) is { } f && f[1] == postmaster.ToString(CultureInfo.InvariantCulture))
                total += Ticks(f, children: false);
        return total;
    }

    private static double? Ticks(int pid, bool children) => Stat(pid) is { } f ? Ticks(f, children) : null;

    // Fields after the command name: state, ppid, ... utime (11), stime (12), cutime (13), cstime (14).
    private static double Ticks(string[] f, bool children) =>
        double.Parse(f[11], CultureInfo.InvariantCulture) + double.Parse(f[12], CultureInfo.InvariantCulture)
        + (children ? double.Parse(f[13], CultureInfo.InvariantCulture) + double.Parse(f[14], CultureInfo.InvariantCulture) : 0);

    private static string[]? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name is in parentheses and may itself hold spaces or parentheses: split after the last one.
            return stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return null; // the process exited between listing and reading
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
