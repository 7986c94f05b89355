namespace CohortGrains.Runtime.Workers;

public sealed class WorkerOptions
{
    /// <summary>Run timer and outbox workers on this node (switch off for a gateway-only node, or in tests that pump by hand).</summary>
    public bool Enabled { get; set; } = true;
    public int TimerBatchSize { get; set; } = 256;
    public int OutboxBatchSize { get; set; } = 64;
    /// <summary>
    /// Most turns committed in one transaction (group commit; commands and timers alike). Turns only share a
    /// transaction when they arrive while <see cref="MaxConcurrentBatches"/> are already running.
    /// </summary>
    public int TurnBatchSize { get; set; } = 64;
    /// <summary>Turn transactions running at once per node; SQLite serializes writes anyway, PostgreSQL benefits.</summary>
    public int MaxConcurrentBatches { get; set; } = 4;
    public int MaxConcurrentSends { get; set; } = 16;
    /// <summary>How long a claim is ours. A node that dies holds its work this long before others take it.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Real-time poll interval when idle (new work in this process wakes the worker at once).</summary>
    public TimeSpan IdlePoll { get; set; } = TimeSpan.FromMilliseconds(500);
    public int MaxSendAttempts { get; set; } = 8;
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Who this node is, for leases and the membership table.</summary>
public sealed class NodeIdentity
{
    private int _leasesHeld;

    public string Id { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>
    /// Timers and outbox rows this node has claimed and not yet finished with, for its heartbeat. Counted where the
    /// claims are made: counting them in the queues meant walking the whole due backlog at every heartbeat, in a storm
    /// the longest it ever gets.
    /// </summary>
    public int LeasesHeld => Volatile.Read(ref _leasesHeld);

    public void Claimed(int count) => Interlocked.Add(ref _leasesHeld, count);

    public void Finished(int count) => Interlocked.Add(ref _leasesHeld, -count);
}
