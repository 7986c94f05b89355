using System.Diagnostics.Metrics;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime.Cluster;

public sealed class MembershipOptions
{
    /// <summary>Where other nodes and operators reach this node (shown in /api/v1/cluster). Defaults to the first of Urls.</summary>
    public string Address { get; set; } = "";

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A node silent this long is shown as stale: it probably died without draining (its leases expire on their own).</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Rows of nodes silent this long are deleted by the heartbeats of the others, so the list does not grow forever.</summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Keeps this node's row in the membership table: registers at start, heartbeats with its turn rate and the leases it
/// holds, shows "draining" as soon as the drain begins, and deregisters once the workers have released their leases.
/// It also begins the drain when the host starts stopping (SIGTERM), before any hosted service is stopped, so the
/// workers stop claiming at once rather than when their turn in the stop order comes.
/// </summary>
public sealed class MembershipService : BackgroundService
{
    private readonly IMembershipStore _store;
    private readonly NodeIdentity _node;
    private readonly TimeProvider _clock;
    private readonly DrainState _drain;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly MembershipOptions _options;
    private readonly ILogger<MembershipService> _logger;
    private readonly MeterListener _turns = new();
    private readonly SemaphoreSlim _heartbeatLock = new(1, 1);
    private long _turnCount;
    private long _lastCount;
    private long _lastTimestamp;
    private bool _lastHeartbeatFailed;

    public MembershipService(
        IMembershipStore store,
        NodeIdentity node,
        TimeProvider clock,
        RuntimeMetrics metrics,
        DrainState drain,
        IOptions<MembershipOptions> options,
        ILogger<MembershipService> logger,
        IHostApplicationLifetime? lifetime = null)
    {
        _store = store;
        _node = node;
        _clock = clock;
        _drain = drain;
        _lifetime = lifetime;
        _options = options.Value;
        _logger = logger;
        StartedAt = clock.GetUtcNow();
        _lastTimestamp = clock.GetTimestamp();

        // Counts this node's committed turns from the runtime's own instrument (this node's Meter instance only, so
        // several nodes in one process each count their own) instead of adding a second counter to every turn.
        _turns.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name == RuntimeMetrics.TurnsInstrument)
                listener.EnableMeasurementEvents(instrument);
        };
        _turns.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _turnCount, value));
        _turns.Start();
    }

    public DateTimeOffset StartedAt { get; }

    public override async Task StartAsync(CancellationToken ct)
    {
        _lifetime?.ApplicationStopping.Register(_drain.BeginDrain);
        // Registered before the host serves anything, so the node is listed as soon as it answers. A store that is
        // down must not keep the node from starting: the loop keeps trying.
        await TryHeartbeatAsync(ct);
        await base.StartAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var drainSeen = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Wakes early once when the drain begins, so the row says "draining" right away.
                using var wake = drainSeen
                    ? CancellationTokenSource.CreateLinkedTokenSource(stoppingToken)
                    : CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _drain.Token);
                await Task.Delay(_options.HeartbeatInterval, _clock, wake.Token);
            }
            catch (OperationCanceledException)
            {
                if (stoppingToken.IsCancellationRequested) return;
            }
            drainSeen = _drain.IsDraining;
            await TryHeartbeatAsync(stoppingToken);
        }
    }

    /// <summary>Writes this node's row now (the background loop does it every <see cref="MembershipOptions.HeartbeatInterval"/>).</summary>
    public async Task HeartbeatAsync(CancellationToken ct)
    {
        await _heartbeatLock.WaitAsync(ct);
        try
        {
            var count = Interlocked.Read(ref _turnCount);
            var timestamp = _clock.GetTimestamp();
            var seconds = _clock.GetElapsedTime(_lastTimestamp, timestamp).TotalSeconds;
            var rate = seconds > 0 ? Math.Round((count - _lastCount) / seconds, 1) : 0;
            await _store.HeartbeatAsync(new NodeHeartbeat(_node.Id, _options.Address, StartedAt, _clock.GetUtcNow(), rate, _node.LeasesHeld, _drain.IsDraining),
                _options.ForgetAfter, ct);
            _lastCount = count;
            _lastTimestamp = timestamp;
        }
        finally
        {
            _heartbeatLock.Release();
        }
    }

    private async Task TryHeartbeatAsync(CancellationToken ct)
    {
        try
        {
            await HeartbeatAsync(ct);
            if (_lastHeartbeatFailed) _logger.LogInformation("Node {Node} heartbeats again", _node.Id);
            _lastHeartbeatFailed = false;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Once per outage, not every few seconds: the workers log the same outage already.
            if (!_lastHeartbeatFailed) _logger.LogWarning(e, "Node {Node} could not write its heartbeat; retrying every {Interval}", _node.Id, _options.HeartbeatInterval);
            _lastHeartbeatFailed = true;
        }
    }

    public override async Task StopAsync(CancellationToken ct)
    {
        _drain.BeginDrain();
        var drained = false;
        try
        {
            // Keep heartbeating (as draining) until the workers have finished their turns and released their leases:
            // deregistering earlier would hide a node that still holds work.
            await _drain.WorkersStopped.WaitAsync(ct);
            drained = true;
        }
        catch (OperationCanceledException)
        {
        }
        // Stop the heartbeats first, so none can write the row again after it is deleted.
        await base.StopAsync(ct);
        if (!drained)
        {
            _logger.LogWarning("Node {Node} did not finish draining in time; its row ages out and its leases expire", _node.Id);
            return;
        }
        try
        {
            await _store.DeregisterAsync(_node.Id, ct);
            _logger.LogInformation("Node {Node} drained and deregistered", _node.Id);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Node {Node} drained but could not deregister; its row ages out", _node.Id);
        }
    }

    public override void Dispose()
    {
        _turns.Dispose();
        _heartbeatLock.Dispose();
        base.Dispose();
    }
}
