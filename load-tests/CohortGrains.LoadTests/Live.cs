using Spectre.Console;

namespace CohortGrains.LoadTests;

/// <summary>
/// The live progress display: one bar per phase with a status line. Quiet runs (the tests, a non-interactive
/// terminal) print one line per phase instead, so logs stay readable.
/// </summary>
public sealed class Live(bool quiet)
{
    private readonly bool _quiet = quiet || !AnsiConsole.Profile.Capabilities.Interactive;

    public interface IPhase
    {
        void Set(double value, string? status = null);
    }

    public async Task<T> RunAsync<T>(string title, double total, Func<IPhase, Task<T>> body)
    {
        if (_quiet)
        {
            var started = DateTime.UtcNow;
            var quietPhase = new QuietPhase();
            var result = await body(quietPhase);
            Console.Error.WriteLine($"[load] {title}: {quietPhase.Status} ({(DateTime.UtcNow - started).TotalSeconds:0.0} s)");
            return result;
        }
        T value = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(total, 1));
                value = await body(new SpectrePhase(task, title));
                task.Value = task.MaxValue;
            });
        return value;
    }

    public Task RunAsync(string title, double total, Func<IPhase, Task> body) =>
        RunAsync<bool>(title, total, async p => { await body(p); return true; });

    private sealed class QuietPhase : IPhase
    {
        public string Status { get; private set; } = "";
        public void Set(double value, string? status = null) => Status = status ?? $"{value:0}";
    }

    private sealed class SpectrePhase(ProgressTask task, string title) : IPhase
    {
        public void Set(double value, string? status = null)
        {
            task.Value = Math.Min(value, task.MaxValue);
            if (status is not null) task.Description = Markup.Escape($"{title}: {status}");
        }
    }
}
