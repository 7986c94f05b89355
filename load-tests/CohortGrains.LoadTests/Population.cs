using System.Collections.Concurrent;
using System.Globalization;
using CohortGrains.Client;

namespace CohortGrains.LoadTests;

/// <summary>One org's clients, enrolled through the bulk API and (optionally) with their first session logged.</summary>
public sealed record Population(string OrgId, string ApiKey, IReadOnlyList<string> CohortIds, IReadOnlyList<string> ClientIds)
{
    public const string ClientLoopType = "ClientLoop";

    /// <summary>
    /// A fixed-offset zone where it is now early afternoon: a touch that falls due inside the client's quiet hours
    /// (at least 21:00–08:00 local) is held back by design, which would hide the turns the storm is there to measure.
    /// </summary>
    public static string AfternoonZone()
    {
        var offset = ((13 - DateTime.UtcNow.Hour) % 24 + 36) % 24 - 12; // −12..+11 hours
        // IANA's Etc zones invert the sign: Etc/GMT-5 is UTC+5.
        return offset >= 0 ? $"Etc/GMT-{offset}" : $"Etc/GMT+{-offset}";
    }

    /// <summary>Cohort sizes of 24–500 summing to n (a smaller n is one cohort).</summary>
    public static List<int> CohortSizes(int n, Random random)
    {
        var sizes = new List<int>();
        var left = n;
        while (left > 0)
        {
            var size = Math.Min(left, random.Next(24, 501));
            sizes.Add(size);
            left -= size;
        }
        // A remainder below 24 borrows from the cohort before it, so every cohort stays within 24–500.
        if (sizes.Count > 1 && sizes[^1] < 24)
        {
            var need = 24 - sizes[^1];
            sizes[^2] -= need;
            sizes[^1] += need;
        }
        return sizes;
    }

    /// <summary>
    /// Org, cohorts (activated) each with a coach of its own, and the bulk enrolments; figures go into
    /// <paramref name="figures"/>. A coach per cohort, as in a coaching company: one coach for a million clients would
    /// make that one grain take every alert of the run.
    /// </summary>
    public static async Task<Population> EnrolAsync(RunContext run, int n, Dictionary<string, object?> figures, CancellationToken ct)
    {
        var op = run.Api(run.Cluster.OperatorKey, node: 0);
        var org = await op.CreateOrgAsync($"Load {run.Options.Scenario} {DateTime.UtcNow:yyyyMMdd-HHmmss}", ct);
        var sizes = CohortSizes(n, run.Random);
        var cohorts = new string[sizes.Count];
        await run.Live.RunAsync($"create {sizes.Count} cohorts and their coaches", sizes.Count, async phase =>
        {
            var done = 0;
            await Parallel2.ForEachAsync(Enumerable.Range(0, sizes.Count), Math.Min(run.Options.Concurrency, 16), async (i, c) =>
            {
                var api = run.Api(org.ApiKey);
                var coach = await api.CreateCoachAsync(new NewCoach($"Load Coach {i + 1}", "UTC", $"coach{i + 1}@load.example",
                    [new("monday", "09:00", "17:00"), new("wednesday", "09:00", "17:00")]), c);
                var cohort = await api.CreateCohortAsync(new NewCohort($"Cohort {i + 1}", coach.CoachId,
                    new CohortProgram("tuesday", "10:00", "UTC")), c);
                await api.ActivateCohortAsync(cohort.CohortId, c);
                cohorts[i] = cohort.CohortId;
                phase.Set(Interlocked.Increment(ref done));
            }, ct);
        });

        var zone = AfternoonZone();
        var ids = new ConcurrentBag<string>();
        var bulk = new LatencyRecorder();
        var start = DateTime.UtcNow;
        await run.Live.RunAsync($"enrol {n:N0} clients (bulk API)", n, async phase =>
        {
            var offset = 0;
            var batches = sizes.Select((size, i) => (Cohort: cohorts[i], From: (offset += size) - size, Size: size)).ToList();
            await Parallel2.ForEachAsync(batches, Math.Min(run.Options.Concurrency, 8), async (b, c) =>
            {
                var clients = Enumerable.Range(b.From, b.Size).Select(k => new NewClient($"Client {k}", zone, 9 + k % 8,
                    Phone: "+1555" + k.ToString("D7", CultureInfo.InvariantCulture),
                    SmsConsent: true)).ToList();
                await bulk.TimeAsync(async () =>
                {
                    var r = await run.Api(org.ApiKey).EnrolManyAsync(b.Cohort, clients, c);
                    foreach (var id in r.ClientIds) ids.Add(id);
                });
                phase.Set(ids.Count, $"{ids.Count:N0} accepted");
            }, ct);
        });
        bulk.Stop();
        if (bulk.Errors > 0) throw new InvalidOperationException($"{bulk.Errors} bulk enrolments failed; first: {bulk.FirstError}");
        figures["bulkEnrolCalls"] = bulk.Summary("calls");
        figures["enrolmentsAcceptedPerSecond"] = Math.Round(ids.Count / bulk.Elapsed.TotalSeconds, 1);

        // 202 means queued durably; a loop exists once a worker has run its first turn. That is the enrolment rate that counts.
        await run.Live.RunAsync("loops created by the workers", n, async phase =>
        {
            while (true)
            {
                var made = await run.ScalarAsync("SELECT count(*) FROM grains WHERE org_id = @o AND grain_type = @t AND version > 0", ct,
                    ("o", org.OrgId), ("t", ClientLoopType));
                phase.Set(made, $"{made:N0} of {n:N0}");
                if (made >= n) break;
                await Task.Delay(250, ct);
            }
        });
        var seconds = (DateTime.UtcNow - start).TotalSeconds;
        figures["enrolledClients"] = ids.Count;
        figures["enrolmentSeconds"] = Math.Round(seconds, 2);
        figures["enrolmentsPerSecond"] = Math.Round(ids.Count / seconds, 1);
        figures["cohorts"] = sizes.Count;
        return new Population(org.OrgId, org.ApiKey, cohorts, ids.ToList());
    }

    /// <summary>Logs each client's first session (one request per client: sessions are per client by nature).</summary>
    public async Task<LatencyRecorder> LogSessionsAsync(RunContext run, CancellationToken ct, DateTimeOffset? occurredAt = null)
    {
        var rec = new LatencyRecorder();
        var done = 0;
        await run.Live.RunAsync($"log {ClientIds.Count:N0} first sessions", ClientIds.Count, async phase =>
        {
            var clients = Enumerable.Range(0, run.Cluster.Nodes).Select(i => run.Api(ApiKey, i)).ToArray();
            await Parallel2.ForEachAsync(ClientIds.Select((id, i) => (id, i)), run.Options.Concurrency, async (x, c) =>
            {
                await rec.TimeAsync(() => clients[x.i % clients.Length].LogSessionAsync(x.id, new SessionLog(
                    [new NewActionItem("Make two prospecting calls", null, "how it felt to ask")],
                    new SessionNote("Pipeline", "Avoids asking directly", "Two calls", "Busy week", "What got in the way"), occurredAt), c));
                var d = Interlocked.Increment(ref done);
                if (d % 50 == 0) phase.Set(d, $"{d:N0} ({rec.Errors} errors)");
            }, ct);
        });
        rec.Stop();
        return rec;
    }
}
