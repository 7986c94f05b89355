using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Time;
using CohortGrains.Runtime.Workers;
using CohortGrains.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime.Tests;

/// <summary>A runtime on a fresh SQLite file with a fake clock and hand-driven workers.</summary>
public sealed class RuntimeFixture : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"cg-runtime-{Guid.NewGuid():N}.db");
    private readonly SqliteGrainStore _store;

    public RuntimeFixture(IEnumerable<IChannel> channels, WorkerOptions? options = null)
    {
        Options = options ?? new WorkerOptions();
        _store = new SqliteGrainStore(new SqliteStoreOptions { Path = _path });
        _store.MigrateAsync(default).GetAwaiter().GetResult();
        var metrics = new RuntimeMetrics();
        var opts = Microsoft.Extensions.Options.Options.Create(Options);
        Runtime = new GrainRuntime(_store, GrainTypeRegistry.Default(), Clock, metrics, NullLogger<GrainRuntime>.Instance, opts);
        Timers = new TimerProcessor(Runtime, Node, opts, NullLogger<TimerProcessor>.Instance);
        Outbox = new OutboxProcessor(_store, channels, Clock, Node, metrics, opts, NullLogger<OutboxProcessor>.Instance);
        Pump = new WorkPump(Timers, Outbox);
    }

    public ManualClock Clock { get; } = new(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
    public NodeIdentity Node { get; } = new();
    public WorkerOptions Options { get; }
    public IGrainStore Store => _store;
    public GrainRuntime Runtime { get; }
    public TimerProcessor Timers { get; }
    public OutboxProcessor Outbox { get; }
    public WorkPump Pump { get; }

    public void Dispose()
    {
        _store.Dispose();
        foreach (var suffix in new[] { "", "-wal", "-shm" }) File.Delete(_path + suffix);
    }
}

/// <summary>A channel that answers from a script, one outcome per call, and remembers what it was asked to send.</summary>
public sealed class ScriptedChannel(string name, params SendOutcome[] script) : IChannel
{
    private readonly Queue<SendOutcome> _script = new(script);
    public List<ClaimedOutbox> Calls { get; } = [];
    public string Name => name;

    public Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct)
    {
        Calls.Add(message);
        return Task.FromResult(_script.Count > 0 ? _script.Dequeue() : new SendOutcome.Accepted($"SM{Calls.Count}", "queued"));
    }
}
