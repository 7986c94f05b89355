using CohortGrains.Domain.ClientLoops;

namespace CohortGrains.Host.Web;

/// <param name="Week">1 for the program's first week.</param>
/// <param name="InProgress">The week has not ended yet: its rates are still moving (actions not due yet, alerts not handled yet).</param>
public sealed record WeekPoint(int Week, DateTimeOffset Start, double? StuckRate, double? ReplyRate, double? ActionCompletionRate, double? CatchRate,
    bool InProgress = false);

/// <summary>
/// A cohort's four rates week by week, computed from its clients' loop states. The states, not the touch facts: a
/// state holds every fact with its time (prompts and replies, escalations and when they were handled, each session's
/// action items and when they were done), while the touch facts know only prompts and their first answers, so they
/// could draw the reply rate alone. A cohort has tens of clients, so reading their states is cheap; the dashboard's
/// current figures keep coming from the projected columns.
/// </summary>
public static class CohortTrends
{
    /// <summary>
    /// Program weeks start at the cohort's first logged session. For each week: stuck rate = clients escalated as stuck
    /// that week over clients in the program that week; reply rate = check-ins sent that week that were answered; action
    /// completion = items agreed in that week's sessions that are done; catch rate = escalations raised that week that
    /// the coach handled before the next session. A rate with nothing to measure is null (a gap), not 0.
    /// </summary>
    public static IReadOnlyList<WeekPoint> Weekly(IReadOnlyList<ClientLoopState> clients, DateTimeOffset now, int maxWeeks = 12)
    {
        var sessions = clients.SelectMany(c => c.Sessions).ToList();
        if (sessions.Count == 0) return [];
        var start = sessions.Min(s => s.OccurredAt);
        if (now < start) return [];
        var weeks = (int)((now - start).TotalDays / 7) + 1;
        var first = Math.Max(1, weeks - maxWeeks + 1);
        var result = new List<WeekPoint>();
        for (var week = first; week <= weeks; week++)
        {
            var from = start.AddDays(7 * (week - 1));
            var to = from.AddDays(7);
            var inProgram = clients.Where(c => c.EnrolledAt < to && !(c.Status == ClientStatus.Done && c.StatusSince < from)).ToList();
            var stuck = inProgram.Count(c => c.Escalations.Any(e => e.Reason == EscalationReason.Stuck && e.At >= from && e.At < to));

            var prompts = clients.SelectMany(c => c.Touches.Where(t => t.IsPrompt && t.SkippedBecause is null && t.At >= from && t.At < to)
                .Select(t => c.Replies.Any(r => r.PromptId == t.Id))).ToList();
            var items = clients.SelectMany(c => c.Sessions.Where(s => s.OccurredAt >= from && s.OccurredAt < to).SelectMany(s => s.Items)).ToList();
            var escalations = clients.SelectMany(c => c.Escalations.Where(e => e.At >= from && e.At < to)).ToList();

            result.Add(new WeekPoint(week, from,
                Rate(stuck, inProgram.Count),
                Rate(prompts.Count(answered => answered), prompts.Count),
                Rate(items.Count(i => i.CompletedAt is not null), items.Count),
                Rate(escalations.Count(e => e.Caught), escalations.Count),
                InProgress: to > now));
        }
        return result;
    }

    private static double? Rate(int part, int whole) => whole == 0 ? null : (double)part / whole;
}

/// <summary>The trend chart's geometry, computed here so the SVG in the page is plain markup with numbers.</summary>
public sealed record TrendChart(int Width, int Height, int Left, int Top, int PlotWidth, int PlotHeight, IReadOnlyList<TrendChart.Axis> XLabels,
    IReadOnlyList<TrendChart.Line> Lines, IReadOnlyList<WeekPoint> Weeks)
{
    /// <param name="Anchor">SVG text-anchor: the first and last labels hug the plot's edges so they are never cut off.</param>
    public sealed record Axis(double X, string Label, string Anchor);
    public sealed record Dot(double X, double Y, string Title);
    /// <param name="Segments">"x,y x,y …" runs of consecutive weeks with a value (a week without one breaks the line).</param>
    public sealed record Line(string Key, string Name, IReadOnlyList<string> Segments, IReadOnlyList<Dot> Dots);

    public static readonly (string Key, string Name, Func<WeekPoint, double?> Value)[] Metrics =
    [
        ("stuck", "Stuck-client rate", w => w.StuckRate),
        ("reply", "Reply rate", w => w.ReplyRate),
        ("completion", "Action completion", w => w.ActionCompletionRate),
        ("catch", "Catch rate", w => w.CatchRate),
    ];

    /// <summary>Wide for a desktop card; <paramref name="narrow"/> for a phone, where the same data needs another shape, not just a smaller one.</summary>
    public static TrendChart From(IReadOnlyList<WeekPoint> weeks, bool narrow = false)
    {
        var (width, height, left, top, right, bottom) = narrow ? (360, 230, 38, 12, 8, 28) : (960, 260, 44, 14, 16, 30);
        var plotWidth = width - left - right;
        var plotHeight = height - top - bottom;
        double X(int i) => weeks.Count == 1 ? left + plotWidth / 2.0 : left + i * (double)plotWidth / (weeks.Count - 1);
        double Y(double rate) => top + (1 - rate) * plotHeight;
        var lines = Metrics.Select(m =>
        {
            var segments = new List<string>();
            var dots = new List<Dot>();
            var run = new List<string>();
            for (var i = 0; i < weeks.Count; i++)
            {
                if (m.Value(weeks[i]) is { } v)
                {
                    run.Add(Coord(X(i)) + "," + Coord(Y(v)));
                    dots.Add(new Dot(Math.Round(X(i), 1), Math.Round(Y(v), 1), $"Week {weeks[i].Week}: {m.Name.ToLowerInvariant()} {Format.Percent(v)}"));
                }
                else if (run.Count > 0)
                {
                    segments.Add(string.Join(' ', run));
                    run = [];
                }
            }
            if (run.Count > 0) segments.Add(string.Join(' ', run));
            return new Line(m.Key, m.Name, segments, dots);
        }).ToList();
        var labels = weeks.Select((w, i) => new Axis(Math.Round(X(i), 1),
            "W" + w.Week.ToString(System.Globalization.CultureInfo.InvariantCulture) + (w.InProgress ? " (so far)" : ""),
            weeks.Count == 1 ? "middle" : i == 0 ? "start" : i == weeks.Count - 1 ? "end" : "middle")).ToList();
        return new TrendChart(width, height, left, top, plotWidth, plotHeight, labels, lines, weeks);
    }

    private static string Coord(double v) => Math.Round(v, 1).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
}
