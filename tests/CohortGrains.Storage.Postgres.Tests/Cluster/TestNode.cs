using System.Collections.Concurrent;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Cluster;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Storage.Postgres.Tests.Cluster;

/// <summary>
/// One node of a cluster inside the test process, wired like the host wires it but with its own store (own connection
/// pool), runtime, workers, membership and drain: nothing is shared with the other nodes except the database.
/// Runs on real time, because leases are real time.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    private readonly PostgresGrainStore _store;
    private bool _stopped;

    public TestNode(string id, string connectionString, WorkerOptions workers, Action<Fire>? onDecide = null)
    {
        Id = id;
        _store = new PostgresGrainStore(new PostgresStoreOptions { ConnectionString = connectionString });
        Store = new KillSwitchStore(_store, id);
        Logs = new NodeLog(id);
        var clock = TimeProvider.System;
        var metrics = new RuntimeMetrics();
        var identity = new NodeIdentity { Id = id };
        var options = Options.Create(workers);
        Runtime = new GrainRuntime(Store, GrainTypeRegistry.Default(new TallyGrain(id, onDecide)), clock, metrics, Logs.For<GrainRuntime>(), options);
        var timers = new TimerProcessor(Runtime, identity, options, Logs.For<TimerProcessor>());
        var outbox = new OutboxProcessor(Store, [], clock, identity, metrics, options, Logs.For<OutboxProcessor>());
        Worker = new RuntimeWorker(Runtime, timers, outbox, identity, Drain, options, Logs.For<RuntimeWorker>());
        Membership = new MembershipService(Store, identity, clock, metrics, Drain,
            Options.Create(new MembershipOptions { Address = $"test://{id}", HeartbeatInterval = TimeSpan.FromMilliseconds(500) }),
            Logs.For<MembershipService>());
    }

    public string Id { get; }
    public KillSwitchStore Store { get; }
    public GrainRuntime Runtime { get; }
    public DrainState Drain { get; } = new();
    public RuntimeWorker Worker { get; }
    public MembershipService Membership { get; }
    public NodeLog Logs { get; }

    public async Task StartAsync()
    {
        await Membership.StartAsync(CancellationToken.None);
        await Worker.StartAsync(CancellationToken.None);
    }

    /// <summary>What SIGTERM does in the host: the drain begins (ApplicationStopping), then the services stop.</summary>
    public async Task DrainAsync(TimeSpan? deadline = null)
    {
        if (_stopped) return;
        _stopped = true;
        Drain.BeginDrain();
        using var timeout = new CancellationTokenSource(deadline ?? TimeSpan.FromSeconds(30));
        await Task.WhenAll(Membership.StopAsync(timeout.Token), Worker.StopAsync(timeout.Token));
    }

    /// <summary>The process dies: no drain, no lease release, no deregistration; then its leftover loops are stopped.</summary>
    public async Task KillAsync()
    {
        Store.Kill();
        await DrainAsync(TimeSpan.FromSeconds(5)); // every store call fails now, so this only ends the background loops
    }

    public async ValueTask DisposeAsync()
    {
        if (!Store.IsKilled) await DrainAsync();
        Worker.Dispose();
        Membership.Dispose();
        await _store.DisposeAsync();
    }
}

/// <summary>A node's warnings and errors, kept so a failing test can show what the node went through.</summary>
public sealed class NodeLog(string node)
{
    private readonly string _node = node;

    public ConcurrentQueue<string> Entries { get; } = new();

    public ILogger<T> For<T>() => new Logger<T>(this);

    private sealed class Logger<T>(NodeLog log) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            log.Entries.Enqueue($"{log._node} {logLevel} {typeof(T).Name}: {formatter(state, exception)}{(exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})")}");
        }
    }
}
