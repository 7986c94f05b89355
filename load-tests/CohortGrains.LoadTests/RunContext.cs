using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using CohortGrains.Client;
using Npgsql;

namespace CohortGrains.LoadTests;

/// <summary>What every scenario shares: the cluster, one HTTP client per node, SQL for counts the API does not offer.</summary>
public sealed partial class RunContext(LoadOptions options, LocalCluster cluster, Live live) : IDisposable
{
    private readonly List<SocketsHttpHandler> _handlers = [];
    private int _next;

    public LoadOptions Options => options;
    public LocalCluster Cluster => cluster;
    public Live Live => live;
    public Random Random { get; } = new(options.Seed);

    /// <summary>A client for node i (round-robin when i is null), with the given key. Load spreads over every node.</summary>
    public CohortGrainsClient Api(string key, int? node = null)
    {
        lock (_handlers)
        {
            if (_handlers.Count != cluster.Nodes)
            {
                foreach (var h in _handlers) h.Dispose();
                _handlers.Clear();
                // One connection pool per node, shared by every client made for it (each client carries its own key).
                foreach (var _ in cluster.NodeUrls)
                    _handlers.Add(new SocketsHttpHandler
                    {
                        MaxConnectionsPerServer = Math.Max(options.Concurrency, 16) * 2,
                        PooledConnectionLifetime = TimeSpan.FromMinutes(10),
                        UseProxy = false,
                        AutomaticDecompression = DecompressionMethods.None,
                    });
            }
        }
        var i = node ?? (int)((uint)Interlocked.Increment(ref _next) % (uint)_handlers.Count);
        var http = new HttpClient(_handlers[i], disposeHandler: false) { BaseAddress = cluster.NodeUrls[i], Timeout = TimeSpan.FromSeconds(60) };
        return new CohortGrainsClient(http, key);
    }

    public async Task<long> ScalarAsync(string sql, CancellationToken ct, params (string Name, object Value)[] args)
    {
        await using var c = await cluster.OpenDatabaseAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, c);
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        var r = await cmd.ExecuteScalarAsync(ct);
        return r is null or DBNull ? 0 : Convert.ToInt64(r, CultureInfo.InvariantCulture);
    }

    public async Task<List<object[]>> RowsAsync(string sql, CancellationToken ct, params (string Name, object Value)[] args)
    {
        await using var c = await cluster.OpenDatabaseAsync(ct);
        await using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 300 };
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<object[]>();
        while (await r.ReadAsync(ct))
        {
            var row = new object[r.FieldCount];
            r.GetValues(row);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// The settings that decide what PostgreSQL can commit, as the server reports them: a run with
    /// COHORTGRAINS_PG_OPTIONS (or a given server) must not read like one on local-cluster.sh's defaults.
    /// </summary>
    public async Task<Dictionary<string, string>> DescribePostgresAsync(CancellationToken ct) =>
        (await RowsAsync("SELECT name, current_setting(name) FROM unnest(@Names::text[]) AS name", ct, ("Names", PostgresSettingsReported)))
        .ToDictionary(row => (string)row[0], row => (string)row[1] is { Length: > 0 } value ? value : "(none)");

    private static readonly string[] PostgresSettingsReported =
    [
        "server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_compression", "shared_buffers", "max_wal_size",
        "checkpoint_timeout", "max_connections", "shared_preload_libraries",
    ];

    /// <summary>
    /// Sum of a counter (or histogram bucket) over every node's /metrics (counters are per node: README Operating),
    /// over the series whose labels contain every one of <paramref name="labelFilters"/>.
    /// </summary>
    public async Task<double> SumMetricAsync(string name, string operatorKey, CancellationToken ct, params string[] labelFilters) =>
        Sum(await ScrapeAsync(operatorKey, ct), name, labelFilters);

    /// <summary>Every node's /metrics, as (node, name, labels, value) lines; a node that does not answer is left out.</summary>
    public async Task<IReadOnlyList<(int Node, string Name, string Labels, double Value)>> ScrapeAsync(string operatorKey, CancellationToken ct)
    {
        var lines = new List<(int, string, string, double)>();
        for (var node = 0; node < cluster.NodeUrls.Count; node++)
        {
            using var http = new HttpClient { BaseAddress = cluster.NodeUrls[node], Timeout = TimeSpan.FromSeconds(20) };
            using var req = new HttpRequestMessage(HttpMethod.Get, "metrics");
            req.Headers.Authorization = new("Bearer", operatorKey);
            using var res = await http.SendAsync(req, ct);
            if (!res.IsSuccessStatusCode) continue;
            foreach (var line in (await res.Content.ReadAsStringAsync(ct)).Split('\n'))
            {
                var m = MetricLine().Match(line);
                if (m.Success)
                    lines.Add((node, m.Groups["name"].Value, m.Groups["labels"].Value, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
            }
        }
        return lines;
    }

    public static double Sum(IEnumerable<(int Node, string Name, string Labels, double Value)> scrape, string name, params string[] labelFilters) =>
        scrape.Where(l => l.Name == name && labelFilters.All(f => l.Labels.Contains(f, StringComparison.Ordinal))).Sum(l => l.Value);

    // Label values are quoted and may hold braces (route templates such as /clients/{clientId}).
    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>(?:[^""}]|""(?:[^""\\]|\\.)*"")*)\})?\s+(?<value>[-+0-9.eE]+|NaN)")]
    private static partial Regex MetricLine();

    private int? _postmaster;
    private bool _postmasterLooked;

    /// <summary>CPU used so far by the nodes, PostgreSQL (when on this machine) and the generator, and the WAL written so far.</summary>
    public async Task<CostReading> CostAsync(CancellationToken ct)
    {
        if (!_postmasterLooked)
        {
            // A backend's parent is the postmaster, whether the run started PostgreSQL or was given one.
            _postmaster = CostReading.ParentOf((int)await ScalarAsync("SELECT pg_backend_pid()", ct));
            _postmasterLooked = true;
        }
        var wal = await ScalarAsync("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint", ct);
        return CostReading.Read(cluster.NodePids(), _postmaster, wal);
    }

    public static double RssMb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException)
        {
            return 0; // the node exited between listing and reading
        }
    }

    public void Dispose()
    {
        foreach (var h in _handlers) h.Dispose();
    }
}
