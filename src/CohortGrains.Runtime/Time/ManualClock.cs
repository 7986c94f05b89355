namespace CohortGrains.Runtime.Time;

/// <summary>
/// A clock that moves only when told. Tests use it as their fake clock; the demo uses it to run program
/// weeks in seconds. Timers created from it are not supported: workers poll, they never wait on this clock.
/// </summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by)
    {
        if (by < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(by), "time only moves forward");
        Interlocked.Add(ref _ticks, by.Ticks);
    }

    public void SetUtcNow(DateTimeOffset now)
    {
        if (now.UtcTicks < Interlocked.Read(ref _ticks)) throw new ArgumentOutOfRangeException(nameof(now), "time only moves forward");
        Interlocked.Exchange(ref _ticks, now.UtcTicks);
    }
}

/// <summary>Real time sped up (Clock:Speed, e.g. 3600 = one program hour per second), for demos and load tests.</summary>
public sealed class AcceleratedClock(TimeProvider real, double speed) : TimeProvider
{
    private readonly DateTimeOffset _origin = real.GetUtcNow();
    private readonly long _startTimestamp = real.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => _origin + real.GetElapsedTime(_startTimestamp) * speed;
}
