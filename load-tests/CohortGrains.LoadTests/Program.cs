using CohortGrains.LoadTests;

// The load generator's entry point: load-tests/run.sh calls this; the tests call LoadRunner directly.
LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}
using var cts = new CancellationTokenSource();
// Ctrl-C ends the run the same way as the deadline: the cluster is still drained and the results still written.
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var result = await LoadRunner.RunAsync(options, cts.Token);
Console.WriteLine($"{result.Scenario}: {(result.Passed ? "checks passed" : "FAILED " + result.Error)}");
foreach (var t in result.Targets) Console.WriteLine($"  {t.Name}: {t.Measured} {t.Unit} (target {t.Goal}) {(t.Met ? "met" : "MISSED")}");
foreach (var c in result.Checks.Where(c => !c.Value)) Console.WriteLine($"  check failed: {c.Key}");
Console.WriteLine($"  {result.MarkdownPath}");
return result.Passed ? 0 : 1;
