using System.Globalization;

namespace CohortGrains.LoadTests;

/// <summary>What one run does: the scenario, its size, and where the cluster it drives lives.</summary>
public sealed record LoadOptions
{
    public required string Scenario { get; init; }
    /// <summary>Clients enrolled (launch, replies, soak).</summary>
    public int Clients { get; init; }
    /// <summary>Timers due at once (storm).</summary>
    public int Timers { get; init; }
    /// <summary>Fixed request rate per second (replies, first phase).</summary>
    public int Rate { get; init; }
    /// <summary>Length of a measured phase (replies: each phase; soak: the simulated week in real time).</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>Unmeasured load before the replies scenario's measured phases.</summary>
    public TimeSpan WarmUp { get; init; }
    public int Nodes { get; init; }
    /// <summary>Requests in flight at once from the generator.</summary>
    public int Concurrency { get; init; }
    public bool Short { get; init; }
    public int Seed { get; init; } = 7;
    /// <summary>Upper bound on the whole run: load traffic is bounded in time whatever happens.</summary>
    public TimeSpan Deadline { get; init; }
    public bool Quiet { get; init; }
    public required ClusterSettings Cluster { get; init; }
    public required string ResultsDirectory { get; init; }

    public static readonly string[] Scenarios = ["launch", "storm", "replies", "soak"];

    public const string Usage = """
        usage: CohortGrains.LoadTests SCENARIO [options]     (normally through load-tests/run.sh)
          SCENARIO       launch | storm | replies | soak
          --clients N    clients enrolled (launch 100000, replies 5000, soak 1000000)
          --timers N     timers due at once (storm 100000)
          --rate N       fixed request rate of the replies scenario's first phase (1000/s)
          --duration S   seconds per replies phase (30); the simulated week of the soak in real seconds (600)
          --warm-up S    unmeasured seconds at max before the replies phases (15; short 1)
          --nodes N      nodes started (launch/storm/replies 2, soak 1: an accelerated clock starts per node)
          --concurrency N  requests in flight (64)
          --short        seconds-long smoke run with small N (what ./test.sh runs)
          --deadline S   hard bound on the run (3600; short 120)
          --results DIR  where <scenario>-<date>.json/.md/.svg go (load-tests/results)
          --repo DIR     repository root (found from the working directory)
          --cluster-dir DIR, --base-port N, --pg-port N, --postgres CONNSTR, --no-build
                         passed to deploy/local-cluster.sh (COHORTGRAINS_CLUSTER_DIR, _BASE_PORT, _PG_PORT, _POSTGRES, _NO_BUILD)
          --quiet        no live display
        """;

    public static LoadOptions Parse(string[] args)
    {
        if (args.Length == 0 || !Scenarios.Contains(args[0])) throw new ArgumentException("give a scenario: " + string.Join(" | ", Scenarios));
        var scenario = args[0];
        var flags = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{a}'");
            var name = a[2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            else if (name is not ("short" or "no-build" or "quiet"))
                value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"--{name} needs a value");
            flags[name] = value;
        }
        var known = new[] { "clients", "timers", "rate", "duration", "warm-up", "nodes", "concurrency", "short", "deadline", "results", "repo",
            "cluster-dir", "base-port", "pg-port", "postgres", "no-build", "quiet", "seed" };
        foreach (var f in flags.Keys) if (!known.Contains(f)) throw new ArgumentException($"unknown option --{f}");

        var isShort = flags.ContainsKey("short");
        int Int(string name, int fallback) => flags.TryGetValue(name, out var v) && v is not null
            ? int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) is var n && n > 0 ? n : throw new ArgumentException($"--{name} must be positive")
            : fallback;

        var repo = flags.GetValueOrDefault("repo") ?? FindRepo(Directory.GetCurrentDirectory());
        var defaultClients = scenario switch { "soak" => isShort ? 300 : 1_000_000, "replies" => isShort ? 100 : 5_000, _ => isShort ? 300 : 100_000 };
        var defaultDuration = scenario switch { "soak" => isShort ? 12 : 600, _ => isShort ? 3 : 30 };
        var basePort = Int("base-port", 5081);
        return new LoadOptions
        {
            Scenario = scenario,
            Clients = Int("clients", defaultClients),
            Timers = Int("timers", isShort ? 300 : 100_000),
            Rate = Int("rate", isShort ? 100 : 1_000),
            Duration = TimeSpan.FromSeconds(Int("duration", defaultDuration)),
            WarmUp = TimeSpan.FromSeconds(Int("warm-up", isShort ? 1 : 15)),
            Nodes = Int("nodes", scenario == "soak" ? 1 : 2),
            Concurrency = Int("concurrency", isShort ? 16 : 64),
            Short = isShort,
            Seed = Int("seed", 7),
            Deadline = TimeSpan.FromSeconds(Int("deadline", isShort ? 120 : 3600)),
            Quiet = flags.ContainsKey("quiet"),
            ResultsDirectory = flags.GetValueOrDefault("results") ?? Path.Combine(repo, "load-tests", "results"),
            Cluster = new ClusterSettings
            {
                RepoRoot = repo,
                StateDirectory = flags.GetValueOrDefault("cluster-dir") ?? Path.Combine(repo, "data", "load", scenario),
                BasePort = basePort,
                PgPort = Int("pg-port", 55480),
                ExternalPostgres = flags.GetValueOrDefault("postgres"),
                NoBuild = flags.ContainsKey("no-build"),
            },
        };
    }

    public static string FindRepo(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CohortGrains.sln"))) return dir.FullName;
        throw new ArgumentException($"no CohortGrains.sln above {start}: pass --repo");
    }
}
