using System.Diagnostics.Metrics;

namespace CohortGrains.Runtime;

/// <summary>The runtime's instruments (System.Diagnostics.Metrics); the host exports them as Prometheus text.</summary>
public sealed class RuntimeMetrics : IDisposable
{
    public const string MeterName = "CohortGrains";
    /// <summary>Also read by cluster membership to report each node's turns per second.</summary>
    public const string TurnsInstrument = "cohortgrains.turns";

    // Explicit buckets: a turn is milliseconds, while timer lag during a launch-morning backlog runs into minutes.
    private static readonly double[] s_turnBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
    private static readonly double[] s_lagBuckets = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    private readonly Meter _meter;
    private readonly Counter<long> _turns;
    private readonly Counter<long> _turnFailures;
    private readonly Histogram<double> _turnSeconds;
    private readonly Histogram<double> _timerLagSeconds;
    private readonly Counter<long> _sends;
    private readonly Counter<long> _escalations;

    public RuntimeMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _turns = _meter.CreateCounter<long>(TurnsInstrument, "{turn}", "Grain turns committed, by grain type and trigger");
        _turnFailures = _meter.CreateCounter<long>("cohortgrains.turn.failures", "{turn}",
            "Grain turns that threw and rolled back, by grain type and trigger (timer turns are retried after their lease)");
        _turnSeconds = _meter.CreateHistogram("cohortgrains.turn.duration", "s", "Time to run and commit one turn",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_turnBuckets });
        _timerLagSeconds = _meter.CreateHistogram("cohortgrains.timer.lag", "s", "Delay from a timer's due time to its turn",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_lagBuckets });
        _sends = _meter.CreateCounter<long>("cohortgrains.outbox.sends", "{message}", "Outbox send attempts by channel and result (sent, retry, failed)");
        _escalations = _meter.CreateCounter<long>("cohortgrains.escalations", "{escalation}", "Clients escalated to their coach, by reason (stuck, silent)");
    }

    public Meter Meter => _meter;

    public void TurnCompleted(string grainType, string trigger, TimeSpan duration)
    {
        var tags = new KeyValuePair<string, object?>[] { new("grain_type", grainType), new("trigger", trigger) };
        _turns.Add(1, tags);
        _turnSeconds.Record(duration.TotalSeconds, tags);
    }

    public void TurnFailed(string grainType, string trigger) =>
        _turnFailures.Add(1, new KeyValuePair<string, object?>("grain_type", grainType), new KeyValuePair<string, object?>("trigger", trigger));

    public void TimerLag(TimeSpan lag) => _timerLagSeconds.Record(Math.Max(0, lag.TotalSeconds));

    public void Sent(string channel, string result) =>
        _sends.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("result", result));

    /// <summary>Counted once the turn that raised the escalation has committed.</summary>
    public void Escalated(string reason) => _escalations.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();
}
