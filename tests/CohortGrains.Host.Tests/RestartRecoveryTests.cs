using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>
/// Durable timers survive the process: a node is killed (SIGKILL) with the client's cadence pending, a new process
/// on the same SQLite file fires each timer once, and a third start fires nothing again. Real processes and an
/// accelerated clock (Clock:Speed) because a fake clock cannot cross a process boundary; waits are bounded polls.
/// </summary>
public sealed class RestartRecoveryTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "cohortgrains-restart", Guid.NewGuid().ToString("N"));
    private const string OperatorKey = "cg_restart-test-operator-key";
    private const double Speed = 30_000; // program seconds per real second: a day in 2.9 s

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }

    private Dictionary<string, string> Settings(bool workers, double speed) => new()
    {
        ["Storage:DataDirectory"] = _data,
        ["Operator:ApiKey"] = OperatorKey,
        ["Workers:Enabled"] = workers ? "true" : "false",
        ["Clock:Speed"] = speed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // At the test's speed 10 ms of real time is about 5 program minutes: poll often so timers fire near their time.
        ["Workers:IdlePoll"] = "00:00:00.010",
    };

    [Fact]
    public async Task KilledNodeLosesNoTimerAndARestartFiresEachOnce()
    {
        string key, clientId;
        await using (var first = await NodeProcess.StartAsync(Settings(workers: false, speed: 1)))
        {
            var created = await first.Client(OperatorKey).PostJsonAsync("/api/v1/orgs", new { name = "Restart Co" }, 201);
            key = created["apiKey"]!.GetValue<string>();
            var api = first.Client(key);
            var coach = (await api.PostJsonAsync("/api/v1/coaches", new { name = "Maya Chen", timeZone = "UTC" }, 201))["coachId"]!.GetValue<string>();
            var cohort = (await api.PostJsonAsync("/api/v1/cohorts", new
            {
                name = "Launch",
                coachId = coach,
                program = new { sessionDay = DateTime.UtcNow.DayOfWeek.ToString(), sessionTime = "00:00", timeZone = "UTC" },
            }, 201))["cohortId"]!.GetValue<string>();
            await api.PostJsonAsync($"/api/v1/cohorts/{cohort}/activate", new { }, 200);
            clientId = (await api.PostJsonAsync($"/api/v1/cohorts/{cohort}/clients", new
            {
                name = "Ava Brooks", phone = "+14155550101", timeZone = "UTC", preferredHour = 12, smsConsent = true,
            }, 201))["clientId"]!.GetValue<string>();
            await api.PostJsonAsync($"/api/v1/clients/{clientId}/sessions", new
            {
                actionItems = new[] { new { what = "Make two prospecting calls" } },
                note = new { focus = "a", insight = "b", agreedAction = "c", obstacle = "d", followUp = "e" },
            }, 201);
            Assert.Empty(await TouchesAsync(api, clientId));
            await first.KillAsync(); // three reminders pending, none fired
        }

        // A week of program time passes in about 20 seconds: Day 2, Day 5 and Day 6 all come due. Not faster: a touch
        // more than a day late is dropped as stale, and a day must stay longer than a node takes to start (at 100,000×,
        // 0.9 s, a cold start on CI sometimes missed Day 2).
        await using (var second = await NodeProcess.StartAsync(Settings(workers: true, speed: Speed)))
        {
            var api = second.Client(key);
            var touches = await WaitForAsync(() => TouchesAsync(api, clientId), t => t.Count(IsCadence) == 3 && t.All(x => x["status"]!.GetValue<string>() == "sent"));
            Assert.Equal(["day2", "day5", "day6"], touches.Where(IsCadence).Select(t => t["template"]!.GetValue<string>()).Order());
            // The silence deadline (24 h after the Day-5 check) falls just after Day 6 and must fire here: a new
            // process's accelerated clock starts again from real time, so the third start never reaches it.
            await WaitForAsync(() => api.GetJsonAsync($"/api/v1/clients/{clientId}"), c => c["status"]!.GetValue<string>() == "silent");
            await second.KillAsync();
        }

        await using (var third = await NodeProcess.StartAsync(Settings(workers: true, speed: Speed)))
        {
            var api = third.Client(key);
            // Give the restarted workers a moment to run whatever they find due, then count again: nothing twice.
            await Task.Delay(1500);
            var touches = await TouchesAsync(api, clientId);
            Assert.Equal(3, touches.Count(IsCadence));
            Assert.Equal(3, touches.Where(IsCadence).Select(t => t["template"]!.GetValue<string>()).Distinct().Count());
            var client = await api.GetJsonAsync($"/api/v1/clients/{clientId}");
            Assert.Equal("silent", client["status"]!.GetValue<string>());
            var alerts = await api.GetJsonAsync($"/api/v1/coaches/{client["coachId"]}/alerts");
            Assert.Single(alerts.AsArray());
        }
    }

    private static bool IsCadence(JsonNode? t) => t!["template"]!.GetValue<string>() is "day2" or "day5" or "day6";

    private static async Task<List<JsonNode>> TouchesAsync(HttpClient api, string clientId) =>
        (await api.GetJsonAsync($"/api/v1/touches?clientId={clientId}"))["touches"]!.AsArray().Select(t => t!).ToList();

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out; last seen: {System.Text.Json.JsonSerializer.Serialize(value)}");
            await Task.Delay(200);
        }
    }
}
