using System.Diagnostics.Metrics;
using System.Globalization;
using CohortGrains.Host.Observability;

namespace CohortGrains.Host.Tests.Observability;

/// <summary>The exposition format, line by line, on a meter of the test's own (nothing else can write into it).</summary>
public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new($"Test.{Guid.NewGuid():N}");
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests() => _exporter = new PrometheusExporter(i => i.Meter == _meter);

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    private string[] Lines() => _exporter.Collect().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void CounterHasHelpTypeAndTotalSuffixAndSumsPerLabelSet()
    {
        var counter = _meter.CreateCounter<long>("cohortgrains.turns", "{turn}", "Grain turns committed");
        counter.Add(2, new("grain_type", "ClientLoop"), new("trigger", "reminder"));
        counter.Add(3, new("trigger", "reminder"), new("grain_type", "ClientLoop")); // same labels, other order
        counter.Add(1, new("grain_type", "Coach"), new("trigger", "message"));

        Assert.Equal(
        [
            "# HELP cohortgrains_turns_total Grain turns committed",
            "# TYPE cohortgrains_turns_total counter",
            "cohortgrains_turns_total{grain_type=\"ClientLoop\",trigger=\"reminder\"} 5",
            "cohortgrains_turns_total{grain_type=\"Coach\",trigger=\"message\"} 1",
        ], Lines());
    }

    [Fact]
    public void LabelValuesEscapeBackslashQuoteAndNewline()
    {
        var counter = _meter.CreateCounter<int>("escapes", null, "x");
        counter.Add(1, new KeyValuePair<string, object?>("path", "C:\\dir \"quoted\"\nnext"));

        Assert.Contains("escapes_total{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1", Lines());
    }

    [Fact]
    public void HelpEscapesBackslashAndNewlineButNotQuotes()
    {
        _meter.CreateCounter<int>("helpful", null, "first line\nsecond \\ \"third\"").Add(1);

        Assert.Contains("# HELP helpful_total first line\\nsecond \\\\ \"third\"", Lines());
    }

    [Fact]
    public void HistogramBucketsAreCumulativeInclusiveAndEndAtInf()
    {
        var histogram = _meter.CreateHistogram("cohortgrains.timer.lag", "s", "Lag",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5, 10] });
        foreach (var v in new[] { 0.5, 1, 3, 7, 20 }) histogram.Record(v, new KeyValuePair<string, object?>("node", "a"));

        Assert.Equal(
        [
            "# HELP cohortgrains_timer_lag_seconds Lag",
            "# TYPE cohortgrains_timer_lag_seconds histogram",
            "cohortgrains_timer_lag_seconds_bucket{node=\"a\",le=\"1\"} 2", // 1 itself falls in le="1"
            "cohortgrains_timer_lag_seconds_bucket{node=\"a\",le=\"5\"} 3",
            "cohortgrains_timer_lag_seconds_bucket{node=\"a\",le=\"10\"} 4",
            "cohortgrains_timer_lag_seconds_bucket{node=\"a\",le=\"+Inf\"} 5",
            "cohortgrains_timer_lag_seconds_sum{node=\"a\"} 31.5",
            "cohortgrains_timer_lag_seconds_count{node=\"a\"} 5",
        ], Lines());
    }

    [Fact]
    public void HistogramWithoutAdviceUsesPrometheusDefaultBuckets()
    {
        _meter.CreateHistogram<double>("plain.duration", "s").Record(0.3);

        var buckets = Lines().Where(l => l.StartsWith("plain_duration_seconds_bucket", StringComparison.Ordinal)).ToList();
        Assert.Equal(PrometheusExporter.DefaultBuckets.Length + 1, buckets.Count);
        Assert.Equal("plain_duration_seconds_bucket{le=\"0.25\"} 0", buckets[5]);
        Assert.Equal("plain_duration_seconds_bucket{le=\"0.5\"} 1", buckets[6]);
    }

    [Fact]
    public void GaugesGoUpAndDownAndObservablesAreReadAtEachScrape()
    {
        var upDown = _meter.CreateUpDownCounter<int>("inflight", "{request}");
        upDown.Add(3);
        upDown.Add(-2);
        var channels = new List<string> { "sms", "email" };
        _meter.CreateObservableGauge("pending", () => channels.Select(c => new Measurement<long>(c.Length, new KeyValuePair<string, object?>("channel", c))));

        var first = Lines();
        Assert.Contains("# TYPE inflight gauge", first);
        Assert.Contains("inflight 1", first);
        Assert.Contains("pending{channel=\"sms\"} 3", first);

        // A label set the callback stops reporting disappears instead of keeping its last value.
        channels.Remove("sms");
        var second = Lines();
        Assert.DoesNotContain(second, l => l.StartsWith("pending{channel=\"sms\"}", StringComparison.Ordinal));
        Assert.Contains("pending{channel=\"email\"} 5", second);
    }

    [Fact]
    public void ObservableCounterReportsItsCumulativeValue()
    {
        long sent = 4;
        _meter.CreateObservableCounter("sent", () => sent, "{message}");
        Assert.Contains("sent_total 4", Lines());
        sent = 9;
        Assert.Contains("sent_total 9", Lines());
    }

    [Fact]
    public void NamesAndLabelsAreSanitizedAndUnitsBecomeSuffixes()
    {
        _meter.CreateCounter<int>("http.server-requests", "{request}").Add(1, new KeyValuePair<string, object?>("http.route", "/x"));
        _meter.CreateObservableGauge("queue.size", () => 2, "By");
        _meter.CreateObservableGauge("already_seconds", () => 1, "s");

        var lines = Lines();
        Assert.Contains("http_server_requests_total{http_route=\"/x\"} 1", lines);
        Assert.Contains("queue_size_bytes 2", lines);
        Assert.Contains("already_seconds 1", lines); // no "_seconds_seconds"
    }

    [Fact]
    public void NumbersUseTheInvariantCultureAndPrometheusSpellings()
    {
        var previous = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            _meter.CreateObservableGauge("ratio", () => 0.25);
            _meter.CreateObservableGauge("unbounded", () => double.PositiveInfinity);
            var lines = Lines();
            Assert.Contains("ratio 0.25", lines);
            Assert.Contains("unbounded +Inf", lines);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }
        Assert.Equal("-Inf", PrometheusText.Number(double.NegativeInfinity));
        Assert.Equal("NaN", PrometheusText.Number(double.NaN));
    }

    [Fact]
    public void CountersIgnoreNegativeAddsAndOtherMetersAreNotExported()
    {
        using var other = new Meter($"Other.{Guid.NewGuid():N}");
        other.CreateCounter<int>("foreign").Add(1);
        var counter = _meter.CreateCounter<double>("ours");
        counter.Add(2.5);
        counter.Add(-1);

        var text = _exporter.Collect();
        Assert.Contains("ours_total 2.5\n", text);
        Assert.DoesNotContain("foreign", text);
    }

    [Fact]
    public void AHistogramTagNamedLeIsRenamedSoBucketsStayParseable()
    {
        _meter.CreateHistogram("sized", "s", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1] })
            .Record(0.5, new KeyValuePair<string, object?>("le", "oops"));

        Assert.Contains("sized_seconds_bucket{tag_le=\"oops\",le=\"1\"} 1", Lines());
    }
}
