using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Diagnostics;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime.Workers;

/// <summary>
/// Sends claimed outbox rows through their channel and records the outcome, fenced by attempt.
/// At-least-once toward the provider: a node that dies after the provider accepted but before recording it
/// sends again when its lease expires; the idempotency key keeps a turn from ever enqueuing the same touch twice.
/// </summary>
public sealed class OutboxProcessor(
    IGrainStore store,
    IEnumerable<IChannel> channels,
    TimeProvider clock,
    NodeIdentity node,
    RuntimeMetrics metrics,
    IOptions<WorkerOptions> options,
    ILogger<OutboxProcessor> logger,
    IOutboxPolicy? policy = null)
{
    // The last registration of a name wins (as in DI), so a configured provider replaces the recording default.
    private readonly Dictionary<string, IChannel> _channels = channels.GroupBy(c => c.Name).ToDictionary(g => g.Key, g => g.Last());
    private readonly WorkerOptions _options = options.Value;
    private readonly CompletionWriter _completions = new(store, options.Value.OutboxBatchSize);

    public Task<int> ProcessBatchAsync(CancellationToken ct) => ProcessBatchAsync(ct, ct);

    /// <summary>
    /// Claims and sends one batch. Once <paramref name="stopStarting"/> is cancelled (drain) no further send starts;
    /// sends already under way finish and record their result unless <paramref name="abort"/> is cancelled, because a
    /// send cut off after the provider accepted it would be sent again by another node.
    /// </summary>
    public async Task<int> ProcessBatchAsync(CancellationToken stopStarting, CancellationToken abort)
    {
        var claimed = await store.ClaimOutboxAsync(node.Id, clock.GetUtcNow(), _options.OutboxBatchSize, _options.LeaseDuration, stopStarting);
        if (claimed.Count == 0) return 0;
        // In hand until the whole batch is done: the heartbeat counts batches under way, not single sends.
        node.Claimed(claimed.Count);
        try
        {
            await SendBatchAsync(claimed, stopStarting, abort);
        }
        finally
        {
            node.Finished(claimed.Count);
        }
        return claimed.Count;
    }

    private async Task SendBatchAsync(IReadOnlyList<ClaimedOutbox> claimed, CancellationToken stopStarting, CancellationToken abort)
    {
        IReadOnlyDictionary<long, DateTimeOffset> holds;
        try
        {
            holds = policy is null ? new Dictionary<long, DateTimeOffset>() : await policy.HoldsAsync(claimed, clock.GetUtcNow(), stopStarting);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Nothing is sent unchecked: the batch stays leased and is claimed again after its lease.
            logger.LogError("Checking quiet hours for {Count} claimed outbox rows failed; they will be retried after their lease: {Error}",
                claimed.Count, Redact.Text(e.Message));
            return;
        }
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentSends, CancellationToken = stopStarting },
            async (row, _) =>
            {
                using var correlation = Correlation.Begin(logger, Correlation.NewId());
                try
                {
                    await SendOneAsync(row, holds.TryGetValue(row.Id, out var holdUntil) ? holdUntil : null, abort);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A provider library's exception text may quote the recipient: log it masked, not the raw exception.
                    logger.LogError("Sending outbox row {OutboxId} for {Grain} via {Channel} failed unexpectedly (attempt {Attempt}); correlation {CorrelationId}; " +
                        "it will be retried after its lease: {Error}", row.Id, row.Grain, row.Channel, row.Attempt, Correlation.Current, Redact.Text(e.ToString()));
                }
            });
    }

    private async Task SendOneAsync(ClaimedOutbox row, DateTimeOffset? heldUntil, CancellationToken ct)
    {
        if (heldUntil is { } holdUntil)
        {
            // Not a failure: the row waits (this claim's attempt is spent, the retry budget is large enough for a night).
            metrics.Sent(row.Channel, "held");
            logger.LogInformation("Outbox row {OutboxId} via {Channel} is held for the client's quiet hours until {HoldUntil}", row.Id, row.Channel, holdUntil);
            await _completions.WriteAsync(new OutboxCompletion(row.Id, row.Attempt, new OutboxResult.Retry(holdUntil, $"held for quiet hours until {holdUntil:u}"), clock.GetUtcNow()), ct);
            return;
        }
        SendOutcome outcome = _channels.TryGetValue(row.Channel, out var channel)
            ? await channel.SendAsync(row, ct)
            : new SendOutcome.Permanent($"no channel '{row.Channel}' is configured on this node");
        var now = clock.GetUtcNow();
        OutboxResult result = outcome switch
        {
            SendOutcome.Accepted a => new OutboxResult.Sent(a.ProviderMessageId, a.ProviderStatus),
            SendOutcome.Transient t when row.Attempt >= _options.MaxSendAttempts =>
                new OutboxResult.Failed($"gave up after {row.Attempt} attempts: {t.Error}", null),
            SendOutcome.Transient t => new OutboxResult.Retry(now + RetryDelay(row.Attempt, t.RetryAfter), t.Error),
            SendOutcome.Permanent p => new OutboxResult.Failed(p.Error, p.ErrorCode),
            SendOutcome.RecipientOptedOut o => new OutboxResult.Failed(o.Error, o.ErrorCode),
            _ => throw new InvalidOperationException(outcome.GetType().Name),
        };
        if (outcome is SendOutcome.RecipientOptedOut optedOut)
        {
            // The client's own choice, not a fault: information, never an error flood; the grain falls back to email.
            // Told before the row completes, so a crash in between repeats the (idempotent) message rather than losing it.
            if (policy is not null) await policy.RecipientOptedOutAsync(row, optedOut, ct);
            metrics.Sent(row.Channel, "opted-out");
            logger.LogInformation("Outbox row {OutboxId} via {Channel} not sent: the recipient unsubscribed from sender {Sender} ({ErrorCode}); not retried",
                row.Id, row.Channel, optedOut.Sender, optedOut.ErrorCode);
            await _completions.WriteAsync(new OutboxCompletion(row.Id, row.Attempt, result, now), ct);
            return;
        }
        metrics.Sent(row.Channel, result switch { OutboxResult.Sent => "sent", OutboxResult.Retry => "retry", _ => "failed" });
        // One line per provider fault. Provider errors often quote the number or address: masked before logging.
        if (result is OutboxResult.Retry r)
            logger.LogWarning("Send of outbox row {OutboxId} for {Grain} via {Channel} to {Recipient} failed (attempt {Attempt}); correlation {CorrelationId}; retrying at {RetryAt}: {Error}",
                row.Id, row.Grain, row.Channel, Redact.Recipient(row.Recipient), row.Attempt, Correlation.Current, r.RetryAt, Redact.Text(r.Error));
        else if (result is OutboxResult.Failed f)
            logger.LogWarning("Send of outbox row {OutboxId} for {Grain} via {Channel} to {Recipient} failed permanently (attempt {Attempt}, code {ErrorCode}); correlation {CorrelationId}: {Error}",
                row.Id, row.Grain, row.Channel, Redact.Recipient(row.Recipient), row.Attempt, f.ErrorCode ?? "-", Correlation.Current, Redact.Text(f.Error));
        await _completions.WriteAsync(new OutboxCompletion(row.Id, row.Attempt, result, now), ct);
    }

    /// <summary>
    /// Group commit for send results: one write at a time, and the results that arrive while it runs go together into
    /// the next one. A node sending hundreds of messages a second then pays one commit per handful of sends instead of
    /// one each, and no result waits for a batch to fill.
    /// </summary>
    private sealed class CompletionWriter(IGrainStore store, int maxBatch)
    {
        private readonly object _gate = new();
        private readonly List<(OutboxCompletion Completion, TaskCompletionSource Written)> _waiting = [];
        private bool _writing;

        public Task WriteAsync(OutboxCompletion completion, CancellationToken ct)
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            bool start;
            lock (_gate)
            {
                _waiting.Add((completion, written));
                start = !_writing;
                _writing = true;
            }
            // On the thread pool, so a send does not wait for the writes of other sends' results.
            if (start) _ = Task.Run(WriteWaitingAsync, CancellationToken.None);
            // A caller that gives up stops waiting; its result is still written (or fenced) with the others.
            return written.Task.WaitAsync(ct);
        }

        private async Task WriteWaitingAsync()
        {
            while (true)
            {
                List<(OutboxCompletion Completion, TaskCompletionSource Written)> batch;
                lock (_gate)
                {
                    if (_waiting.Count == 0)
                    {
                        _writing = false;
                        return;
                    }
                    batch = _waiting.Take(maxBatch).ToList();
                    _waiting.RemoveRange(0, batch.Count);
                }
                try
                {
                    // A fenced result (false) needs nothing more: the row's newer claim records its own.
                    await store.CompleteOutboxAsync(batch.Select(w => w.Completion).ToList(), CancellationToken.None);
                    foreach (var w in batch) w.Written.TrySetResult();
                }
                catch (Exception e)
                {
                    // Nothing of the batch was written: each send reports it, and its row is sent again after its lease.
                    foreach (var w in batch) w.Written.TrySetException(e);
                }
            }
        }
    }

    /// <summary>Exponential backoff with jitter (half to full of base·2^(attempt-1), capped), never sooner than the provider asked.</summary>
    public TimeSpan RetryDelay(int attempt, TimeSpan? retryAfter)
    {
        var exponential = Math.Min(_options.RetryMaxDelay.TotalSeconds, _options.RetryBaseDelay.TotalSeconds * Math.Pow(2, Math.Max(0, attempt - 1)));
        var jittered = TimeSpan.FromSeconds(exponential * (0.5 + Random.Shared.NextDouble() * 0.5));
        return retryAfter is { } ra && ra > jittered ? ra : jittered;
    }
}
