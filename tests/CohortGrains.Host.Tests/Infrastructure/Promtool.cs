using System.Diagnostics;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>
/// Runs Debian's promtool (package prometheus). ./test.sh installs it and exports COHORTGRAINS_TEST_PROMTOOL; a test that
/// needs it fails, never skips, when it is missing — a lint nobody runs would pass anything.
/// </summary>
public static class Promtool
{
    public const string EnvironmentVariable = "COHORTGRAINS_TEST_PROMTOOL";

    public static string Path
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(configured))
            {
                Assert.True(File.Exists(configured), $"{EnvironmentVariable}={configured}, but there is no such file. Install Debian's 'prometheus' package or fix the variable.");
                return configured;
            }
            // Running `dotnet test` by hand: promtool on PATH is fine too.
            var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator)
                .Select(dir => System.IO.Path.Combine(dir, "promtool")).FirstOrDefault(File.Exists);
            Assert.True(onPath is not null,
                $"promtool is missing: set {EnvironmentVariable} to its path, or install Debian's 'prometheus' package (./test.sh does both).");
            return onPath!;
        }
    }

    public sealed record Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(string? stdin, params string[] args)
    {
        var start = new ProcessStartInfo(Path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("promtool did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"promtool {string.Join(' ', args)} did not finish within a minute");
        }
        return new Result(process.ExitCode, (await stdout + await stderr).Trim());
    }
}
