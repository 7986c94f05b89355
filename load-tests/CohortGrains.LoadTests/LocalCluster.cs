using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace CohortGrains.LoadTests;

public sealed record ClusterSettings
{
    public required string RepoRoot { get; init; }
    public required string StateDirectory { get; init; }
    public int BasePort { get; init; } = 5081;
    public int PgPort { get; init; } = 55480;
    /// <summary>An Npgsql connection string of a PostgreSQL to use instead of starting one (the tests' throwaway server).</summary>
    public string? ExternalPostgres { get; init; }
    public bool NoBuild { get; init; }
}

/// <summary>
/// deploy/local-cluster.sh, driven from the generator: the storm and the soak need nodes started with settings of their
/// own (workers, clock, the fake SMS endpoint), so the scenario, not run.sh, decides when and how nodes start.
/// Settings reach the nodes as environment variables, which local-cluster.sh passes through.
/// </summary>
public sealed class LocalCluster(ClusterSettings settings)
{
    private string Script => Path.Combine(settings.RepoRoot, "deploy", "local-cluster.sh");

    public int Nodes { get; private set; }

    public string PostgresConnectionString => settings.ExternalPostgres
        ?? $"Host=127.0.0.1;Port={settings.PgPort};Username=postgres;Password=unused;Database=cohortgrains;Pooling=true;Maximum Pool Size=8";

    public IReadOnlyList<Uri> NodeUrls => Enumerable.Range(0, Nodes).Select(i => new Uri($"http://127.0.0.1:{settings.BasePort + i}/")).ToList();

    public string OperatorKey => File.ReadAllText(Path.Combine(settings.StateDirectory, "operator-key")).Trim();

    public async Task StartAsync(int nodes, IReadOnlyDictionary<string, string> nodeEnvironment, CancellationToken ct)
    {
        Directory.CreateDirectory(settings.StateDirectory);
        await RunScriptAsync(nodes.ToString(CultureInfo.InvariantCulture), nodeEnvironment, ct);
        (Nodes, _environment) = (nodes, nodeEnvironment);
    }

    private IReadOnlyDictionary<string, string> _environment = new Dictionary<string, string>();

    /// <summary>Drains the nodes and starts as many again, with <paramref name="changes"/> added to their settings; the database stays up.</summary>
    public async Task RestartNodesAsync(IReadOnlyDictionary<string, string> changes, CancellationToken ct)
    {
        var environment = new Dictionary<string, string>(_environment);
        foreach (var (k, v) in changes) environment[k] = v;
        await RunScriptAsync("stop-nodes", new Dictionary<string, string>(), ct);
        await StartAsync(Nodes, environment, ct);
    }

    /// <summary>SIGTERM drain of every node and the PostgreSQL the script started; safe to call twice.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        await RunScriptAsync("stop", new Dictionary<string, string>(), ct);
        Nodes = 0;
    }

    /// <summary>Node process ids (for RSS), from the pid files the script writes.</summary>
    public IReadOnlyList<int> NodePids() =>
        Directory.Exists(settings.StateDirectory)
            ? Directory.GetFiles(settings.StateDirectory, "node*.pid")
                .Select(f => int.TryParse(File.ReadAllText(f).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : 0)
                .Where(p => p > 0).ToList()
            : [];

    public async Task<NpgsqlConnection> OpenDatabaseAsync(CancellationToken ct)
    {
        var c = new NpgsqlConnection(PostgresConnectionString);
        await c.OpenAsync(ct);
        return c;
    }

    private async Task RunScriptAsync(string argument, IReadOnlyDictionary<string, string> nodeEnvironment, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("bash", [Script, argument])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = settings.RepoRoot,
        };
        psi.Environment["COHORTGRAINS_CLUSTER_DIR"] = settings.StateDirectory;
        psi.Environment["COHORTGRAINS_BASE_PORT"] = settings.BasePort.ToString(CultureInfo.InvariantCulture);
        psi.Environment["COHORTGRAINS_PG_PORT"] = settings.PgPort.ToString(CultureInfo.InvariantCulture);
        if (settings.ExternalPostgres is { } pg) psi.Environment["COHORTGRAINS_POSTGRES"] = pg;
        if (settings.NoBuild) psi.Environment["COHORTGRAINS_NO_BUILD"] = "1";
        foreach (var (k, v) in nodeEnvironment) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not run " + Script);
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        // The script bounds itself (60 s readiness per node, 45 s drain); this is a second fence so a stuck script
        // cannot hold a test run forever.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: false);
            throw;
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"local-cluster.sh {argument} failed ({p.ExitCode}):\n{await stderr}\n{await stdout}");
    }
}
