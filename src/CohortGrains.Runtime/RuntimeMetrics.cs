using System.Diagnostics.Metrics;

namespace CohortGrains.Runtime;

/// <summary>The runtime's instruments (System.Diagnostics.Metrics); the host exports them as Prometheus text.</summary>
public sealed class RuntimeMetrics : IDisposable
{
    public const string MeterName = "CohortGrains";
    /// <summary>Also read by cluster membership to report each node's turns per second.</summary>
    public const string TurnsInstrument = "cohortgrains.turns";
    private readonly Meter _meter;
    private readonly Counter<long> _turns;
    private readonly Histogram<double> _turnSeconds;
    private readonly Histogram<double> _timerLagSeconds;
    private readonly Counter<long> _sends;

    public RuntimeMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _turns = _meter.CreateCounter<long>(TurnsInstrument, "{turn}", "Grain turns committed, by grain type and trigger");
        _turnSeconds = _meter.CreateHistogram<double>("cohortgrains.turn.duration", "s", "Time to run and commit one turn");
        _timerLagSeconds = _meter.CreateHistogram<double>("cohortgrains.timer.lag", "s", "Delay from a timer's due time to its turn");
        _sends = _meter.CreateCounter<long>("cohortgrains.outbox.sends", "{message}", "Outbox send attempts by channel and result");
    }

    public Meter Meter => _meter;

    public void TurnCompleted(string grainType, string trigger, TimeSpan duration)
    {
        var tags = new KeyValuePair<string, object?>[] { new("grain_type", grainType), new("trigger", trigger) };
        _turns.Add(1, tags);
        _turnSeconds.Record(duration.TotalSeconds, tags);
    }

    public void TimerLag(TimeSpan lag) => _timerLagSeconds.Record(Math.Max(0, lag.TotalSeconds));

    public void Sent(string channel, string result) =>
        _sends.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("result", result));

    public void Dispose() => _meter.Dispose();
}
