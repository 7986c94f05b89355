using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace CohortGrains.Host.Observability;

/// <summary>
/// Our own Prometheus exporter (prometheus-net and the OpenTelemetry exporter are not on our feed): a
/// <see cref="MeterListener"/> aggregates the measurements of the instruments it is given — counters, up-down
/// counters, histograms with explicit buckets, and observable instruments, which are read at scrape — and
/// <see cref="Collect"/> writes them in the text exposition format 0.0.4.
/// Instrument names become Prometheus names by the usual rules: dots to underscores, the unit as a suffix
/// ("s" → _seconds), counters end in _total.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Prometheus' client defaults, for a histogram whose instrument gives no bucket advice.</summary>
    public static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly Lock _collectLock = new();

    public PrometheusExporter(Func<Instrument, bool> include)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (include(instrument) && Bind(instrument) is { } binding) listener.EnableMeasurementEvents(instrument, binding);
            },
        };
        _listener.SetMeasurementEventCallback<byte>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<short>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => Record(state, value, tags));
        _listener.SetMeasurementEventCallback<decimal>((_, value, tags, state) => Record(state, (double)value, tags));
        _listener.Start();
    }

    /// <summary>Reads the observable instruments, then writes every family, sorted by name, in exposition format 0.0.4.</summary>
    public string Collect()
    {
        lock (_collectLock)
        {
            // Observable instruments report their whole current value set on each read: a label set they no
            // longer report (a channel with nothing pending) must disappear, not keep its last value.
            foreach (var family in _families.Values.Where(f => f.Observable)) family.Series.Clear();
            _listener.RecordObservableInstruments();

            var text = new StringBuilder(4096);
            foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal)) family.WriteTo(text);
            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    private static void Record(object? state, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (state is Binding binding && !double.IsNaN(value)) binding.Record(value, tags);
    }

    private Binding? Bind(Instrument instrument)
    {
        if (Classify(instrument) is not var (type, mode)) return null;
        var name = PrometheusText.MetricName(instrument.Name, instrument.Unit, type);
        var buckets = type == MetricType.Histogram ? BucketsOf(instrument) : [];
        var family = _families.GetOrAdd(name, _ => new Family(name, instrument.Description ?? instrument.Name, type, instrument.IsObservable, buckets));
        // Two instruments may map to one name (the same meter created twice); they can share a family only if
        // they agree on its shape, otherwise the second is left out rather than corrupting the first.
        if (family.Type != type || family.Observable != instrument.IsObservable || !family.Buckets.SequenceEqual(buckets)) return null;
        return new Binding(family, mode);
    }

    private static (MetricType, RecordMode)? Classify(Instrument instrument)
    {
        var t = instrument.GetType();
        if (!t.IsGenericType) return null;
        var d = t.GetGenericTypeDefinition();
        if (d == typeof(Counter<>)) return (MetricType.Counter, RecordMode.Add);
        if (d == typeof(ObservableCounter<>)) return (MetricType.Counter, RecordMode.Set);
        if (d == typeof(UpDownCounter<>)) return (MetricType.Gauge, RecordMode.Add);
        if (d == typeof(ObservableUpDownCounter<>) || d == typeof(ObservableGauge<>) || d == typeof(Gauge<>)) return (MetricType.Gauge, RecordMode.Set);
        if (d == typeof(Histogram<>)) return (MetricType.Histogram, RecordMode.Observe);
        return null;
    }

    private static double[] BucketsOf(Instrument instrument)
    {
        IEnumerable<double>? advised = instrument switch
        {
            Instrument<double> d => d.Advice?.HistogramBucketBoundaries,
            Instrument<float> f => f.Advice?.HistogramBucketBoundaries?.Select(v => (double)v),
            Instrument<long> l => l.Advice?.HistogramBucketBoundaries?.Select(v => (double)v),
            Instrument<int> i => i.Advice?.HistogramBucketBoundaries?.Select(v => (double)v),
            _ => null,
        };
        var buckets = (advised ?? DefaultBuckets).Where(double.IsFinite).Distinct().Order().ToArray();
        return buckets.Length > 0 ? buckets : DefaultBuckets;
    }

    private enum RecordMode { Add, Set, Observe }

    private sealed class Binding(Family family, RecordMode mode)
    {
        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = family.SeriesFor(tags);
            switch (mode)
            {
                case RecordMode.Add:
                    // A counter only goes up; a negative add is a bug in the caller, not a reset.
                    if (family.Type == MetricType.Counter && value < 0) return;
                    series.Add(value);
                    break;
                case RecordMode.Set:
                    series.Set(value);
                    break;
                default:
                    series.Observe(value, family.Buckets);
                    break;
            }
        }
    }

    private sealed class Family(string name, string help, MetricType type, bool observable, double[] buckets)
    {
        public string Name => name;
        public MetricType Type => type;
        public bool Observable => observable;
        public double[] Buckets => buckets;
        public ConcurrentDictionary<string, Series> Series { get; } = new(StringComparer.Ordinal);

        public Series SeriesFor(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = PrometheusText.Labels(tags, reserved: type == MetricType.Histogram ? "le" : null);
            var key = PrometheusText.LabelKey(labels);
            return Series.TryGetValue(key, out var existing) ? existing : Series.GetOrAdd(key, _ => new Series(labels, buckets.Length));
        }

        public void WriteTo(StringBuilder text)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(PrometheusText.EscapeHelp(help)).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type.ToString().ToLowerInvariant()).Append('\n');
            foreach (var (_, series) in Series.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                if (type == MetricType.Histogram) series.WriteHistogram(text, name, buckets);
                else series.WriteValue(text, name);
            }
        }
    }

    private sealed class Series(IReadOnlyList<KeyValuePair<string, string>> labels, int bucketCount)
    {
        private readonly Lock _lock = new();
        private readonly long[] _bucketCounts = new long[bucketCount + 1]; // the last one is above every bound (+Inf)
        private double _value;
        private long _count;

        public void Add(double value)
        {
            lock (_lock) _value += value;
        }

        public void Set(double value)
        {
            lock (_lock) _value = value;
        }

        public void Observe(double value, double[] bounds)
        {
            // "le" is inclusive: a value equal to a bound counts in that bound's bucket.
            var index = Array.BinarySearch(bounds, value);
            if (index < 0) index = ~index;
            lock (_lock)
            {
                _bucketCounts[index]++;
                _value += value;
                _count++;
            }
        }

        public void WriteValue(StringBuilder text, string name)
        {
            double value;
            lock (_lock) value = _value;
            text.Append(name);
            PrometheusText.AppendLabels(text, labels);
            text.Append(' ').Append(PrometheusText.Number(value)).Append('\n');
        }

        public void WriteHistogram(StringBuilder text, string name, double[] bounds)
        {
            long[] counts;
            double sum;
            long count;
            lock (_lock)
            {
                counts = (long[])_bucketCounts.Clone();
                sum = _value;
                count = _count;
            }
            long cumulative = 0;
            for (var i = 0; i <= bounds.Length; i++)
            {
                cumulative += counts[i];
                var le = i < bounds.Length ? PrometheusText.Number(bounds[i]) : "+Inf";
                text.Append(name).Append("_bucket");
                PrometheusText.AppendLabels(text, labels, new KeyValuePair<string, string>("le", le));
                text.Append(' ').Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            text.Append(name).Append("_sum");
            PrometheusText.AppendLabels(text, labels);
            text.Append(' ').Append(PrometheusText.Number(sum)).Append('\n');
            text.Append(name).Append("_count");
            PrometheusText.AppendLabels(text, labels);
            text.Append(' ').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }
}

public enum MetricType { Counter, Gauge, Histogram }

/// <summary>The naming and escaping rules of the Prometheus text format, kept apart so they can be tested one by one.</summary>
public static class PrometheusText
{
    /// <summary>
    /// "cohortgrains.turn.duration" in "s" → "cohortgrains_turn_duration_seconds"; counters get "_total".
    /// Curly-brace units ("{turn}") are annotations, not units, and add nothing.
    /// </summary>
    public static string MetricName(string instrumentName, string? unit, MetricType type)
    {
        var name = Sanitize(instrumentName, allowLeadingDigit: false);
        var suffix = UnitSuffix(unit);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal)) name += "_" + suffix;
        if (type == MetricType.Counter && !name.EndsWith("_total", StringComparison.Ordinal)) name += "_total";
        return name;
    }

    public static string UnitSuffix(string? unit) => unit switch
    {
        null or "" or "1" => "",
        _ when unit.StartsWith('{') => "",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "min" => "minutes",
        "h" => "hours",
        "d" => "days",
        "By" => "bytes",
        "%" => "percent",
        _ => Sanitize(unit, allowLeadingDigit: true).ToLowerInvariant(),
    };

    /// <summary>Metric and label names: [a-zA-Z_][a-zA-Z0-9_]*. Colons are legal in metric names but reserved for recording rules.</summary>
    public static string Sanitize(string name, bool allowLeadingDigit)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray();
        var result = new string(chars);
        if (result.Length == 0) return "_";
        return !allowLeadingDigit && char.IsAsciiDigit(result[0]) ? "_" + result : result;
    }

    /// <summary>Tags to sorted, sanitized label pairs. Names starting "__" are reserved by Prometheus; a tag named like <paramref name="reserved"/> is renamed.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags, string? reserved = null)
    {
        if (tags.Length == 0) return [];
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            var name = Sanitize(key, allowLeadingDigit: false);
            while (name.StartsWith("__", StringComparison.Ordinal)) name = name[1..];
            if (name == reserved) name = "tag_" + name;
            labels.TryAdd(name, LabelValue(value));
        }
        return labels.ToList();
    }

    public static string LabelValue(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public static string LabelKey(IReadOnlyList<KeyValuePair<string, string>> labels)
    {
        if (labels.Count == 0) return "";
        var key = new StringBuilder();
        foreach (var (name, value) in labels) key.Append(name).Append('\u0001').Append(value).Append('\u0002');
        return key.ToString();
    }

    public static void AppendLabels(StringBuilder text, IReadOnlyList<KeyValuePair<string, string>> labels, KeyValuePair<string, string>? extra = null)
    {
        if (labels.Count == 0 && extra is null) return;
        text.Append('{');
        var first = true;
        foreach (var (name, value) in extra is { } e ? labels.Append(e) : labels)
        {
            if (!first) text.Append(',');
            first = false;
            text.Append(name).Append("=\"").Append(EscapeLabelValue(value)).Append('"');
        }
        text.Append('}');
    }

    /// <summary>In label values, backslash, double quote and line feed are escaped.</summary>
    public static string EscapeLabelValue(string value) =>
        value.Replace("\\", @"\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal);

    /// <summary>In HELP text, backslash and line feed are escaped (quotes are not).</summary>
    public static string EscapeHelp(string help) =>
        help.Replace("\\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal);

    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
