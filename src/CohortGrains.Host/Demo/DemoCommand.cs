using System.Collections.Immutable;
using System.Text.Json;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Orgs;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Cluster;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Time;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Demo;

/// <summary>
/// `demo`: one org, two coaches, two cohorts of 24 clients, two program weeks on a simulated clock that ends
/// at the real present, with simulated clients (on track, stuck, silent). The figures printed at the end are read
/// back from the store, not counted by the simulator. Options: --data DIR (default: the service's data directory).
/// </summary>
public static class DemoCommand
{
    private const int ClientsPerCohort = 24;
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Span = TimeSpan.FromDays(14);

    /// <param name="output">Where the summary goes (the console when run as a command). A parameter, because a caller
    /// that swaps the process-wide Console.Out to read it also captures every other console logger in the process.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var config = new ConfigurationBuilder().AddJsonFile("appsettings.json", optional: true).AddEnvironmentVariables().AddCommandLine(Options(args)).Build();
        var storage = (config.GetSection("Storage").Get<StorageOptions>() ?? new StorageOptions()).WithConnectionStrings(config);
        Directory.CreateDirectory(storage.DataDirectory);

        var end = DateTimeOffset.UtcNow;
        var clock = new ManualClock(end - Span);
        var services = new ServiceCollection()
            .AddLogging(l => l.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning))
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(storage))
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(new WorkerOptions()))
            .AddSingleton(Microsoft.Extensions.Options.Options.Create(new OperatorOptions()))
            .AddCohortGrainsCore()
            .AddSingleton<TimeProvider>(clock)
            .BuildServiceProvider();

        var store = services.GetRequiredService<IGrainStore>();
        await store.MigrateAsync(default);
        var sim = new Simulation(services.GetRequiredService<GrainRuntime>(), services.GetRequiredService<WorkPump>(), clock);
        var (orgId, apiKey) = await sim.SeedAsync();

        Console.Error.WriteLine($"Simulating two program weeks for {ClientsPerCohort * 2} clients ({clock.GetUtcNow():yyyy-MM-dd} → {end:yyyy-MM-dd})…");
        var reported = 0;
        while (clock.GetUtcNow() < end)
        {
            clock.Advance(Step);
            await sim.StepAsync();
            var day = (int)((clock.GetUtcNow() - (end - Span)) / TimeSpan.FromDays(1));
            if (day > reported) await ReportProgressAsync(store, orgId, reported = day);
        }

        var stats = await store.GetCohortStatsAsync(orgId, null, end, default);
        var clients = stats.Sum(s => s.Clients);
        var active = clients - stats.Sum(s => s.ByStatus.GetValueOrDefault("done"));
        var prompts = stats.Sum(s => s.PromptsSent);
        var summary = new
        {
            clients,
            touchesSent = stats.Sum(s => s.TouchesSent),
            replies = stats.Sum(s => s.Replies),
            escalations = stats.Sum(s => s.Escalations),
            stuckRate = active == 0 ? 0 : Math.Round((double)stats.Sum(s => s.ByStatus.GetValueOrDefault("stuck")) / active, 4),
            replyRate = prompts == 0 ? 0 : Math.Round((double)stats.Sum(s => s.Replies) / prompts, 4),
        };

        var cohorts = await store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType), default);
        var dashboard = await DashboardApi.BuildAsync(store, orgId, cohorts, end, default);
        var dashboardPath = Path.GetFullPath(Path.Combine(storage.DataDirectory, "demo-dashboard.json"));
        await File.WriteAllTextAsync(dashboardPath, JsonSerializer.Serialize(dashboard, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));

        output.WriteLine(JsonSerializer.Serialize(summary, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        output.WriteLine($"Dashboard JSON: {dashboardPath}");
        var serve = storage.DataDirectory == new StorageOptions().DataDirectory
            ? "dotnet run --project src/CohortGrains.Host"
            : $"dotnet run --project src/CohortGrains.Host -- --Storage:DataDirectory={Path.GetFullPath(storage.DataDirectory)}";
        output.WriteLine($"Live: start the service ({serve}), then curl -H 'Authorization: Bearer {apiKey}' http://127.0.0.1:5080/api/v1/dashboard");
        return 0;
    }

    /// <summary>Maps "--data DIR" to the Storage:DataDirectory setting.</summary>
    private static string[] Options(string[] args)
    {
        var mapped = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--data" && i + 1 < args.Length) mapped.Add($"--Storage:DataDirectory={args[++i]}");
            else mapped.Add(args[i]);
        }
        return mapped.ToArray();
    }

    private static async Task ReportProgressAsync(IGrainStore store, string orgId, int day)
    {
        var stats = await store.GetCohortStatsAsync(orgId, null, DateTimeOffset.UtcNow, default);
        Console.Error.WriteLine(
            $"  day {day,2}/14  touches {stats.Sum(s => s.TouchesSent),4}  replies {stats.Sum(s => s.Replies),4}  " +
            $"stuck {stats.Sum(s => s.ByStatus.GetValueOrDefault("stuck")),2}  silent {stats.Sum(s => s.ByStatus.GetValueOrDefault("silent")),2}  escalations {stats.Sum(s => s.Escalations),3}");
    }

    /// <summary>The simulated coaches and clients. Deterministic (seeded) so two runs tell the same story.</summary>
    private sealed class Simulation(GrainRuntime runtime, WorkPump pump, ManualClock clock)
    {
        private readonly Random _random = new(2026);
        private readonly List<(string CohortId, string CoachId, SessionSchedule Schedule, List<string> Clients)> _cohorts = [];
        private readonly Dictionary<string, Persona> _personas = [];
        private readonly List<(DateTimeOffset At, string ClientId, CheckInReplied Reply)> _pendingReplies = [];
        private readonly HashSet<string> _answeredTouches = [];
        private string _orgId = "";

        private enum Persona { OnTrack, Stuck, Silent, SlipsInWeekTwo }

        private static readonly string[][] s_actions =
        [
            ["Make two prospecting calls", "Draft the pricing page", "Block 30 minutes for planning each morning"],
            ["Have the budget conversation with Sam", "Write three LinkedIn posts", "Ask one client for a referral"],
            ["Run the 1:1 with the new hire", "Delegate the weekly report", "Say no to one meeting"],
        ];

        public async Task<(string OrgId, string ApiKey)> SeedAsync()
        {
            _orgId = Ids.New("org");
            await Ok(runtime.SendAsync<OrgState>(new GrainId(_orgId, OrgDecider.GrainType, _orgId), new CreateOrg(_orgId, "Northstar Coaching (demo)"), default));
            var (key, hash, prefix) = ApiKeys.Generate();
            await runtime.Store.CreateApiKeyAsync(new ApiKeyRecord(hash, prefix, _orgId, Roles.OrgAdmin, null, "demo", clock.GetUtcNow(), null), default);

            (string Name, string Zone, DayOfWeek Day, int Hour, string CohortName)[] setup =
            [
                ("Maya Chen", "America/New_York", DayOfWeek.Tuesday, 10, "Leadership Launch — Spring"),
                ("Jonas Weber", "Europe/Berlin", DayOfWeek.Thursday, 17, "Founders Circle"),
            ];
            var n = 0;
            foreach (var (coachName, zone, day, hour, cohortName) in setup)
            {
                var coachId = Ids.New("coa");
                ImmutableList<AvailabilityWindow> availability =
                    [new(DayOfWeek.Monday, new(12, 0), new(14, 0)), new(DayOfWeek.Wednesday, new(9, 0), new(11, 0)), new(DayOfWeek.Friday, new(15, 0), new(17, 0))];
                await Ok(runtime.SendAsync<CoachState>(new GrainId(_orgId, CoachDecider.GrainType, coachId),
                    new CreateCoach(coachId, coachName, $"{coachName.Split(' ')[0].ToLowerInvariant()}@northstar.example", zone, availability), default));
                var cohortId = Ids.New("coh");
                var schedule = new SessionSchedule(day, new TimeOnly(hour, 0), zone);
                var program = ProgramDefinition.Default(schedule);
                var cohortGrain = new GrainId(_orgId, CohortDecider.GrainType, cohortId);
                await Ok(runtime.SendAsync<CohortState>(cohortGrain, new CreateCohort(cohortId, cohortName, coachId, program), default));
                await Ok(runtime.SendAsync<CohortState>(cohortGrain, new ActivateCohort(), default));

                var enrolments = new List<(GrainId, object)>();
                var clients = new List<string>();
                for (var i = 0; i < ClientsPerCohort; i++, n++)
                {
                    var clientId = Ids.New("cli");
                    clients.Add(clientId);
                    _personas[clientId] = (i % 6) switch { 3 => Persona.Stuck, 4 => Persona.Silent, 5 => Persona.SlipsInWeekTwo, _ => Persona.OnTrack };
                    var profile = new ClientProfile($"{FirstNames[n % FirstNames.Length]} {LastNames[n % LastNames.Length]}",
                        $"+1555{n:D7}", $"client{n}@example.com", zone, 8 + i % 4);
                    enrolments.Add((new GrainId(_orgId, ClientLoopDecider.GrainType, clientId),
                        new Enroll(clientId, cohortId, coachId, coachName, profile, new Consent(SmsOptIn: i % 5 != 0), program)));
                }
                await runtime.PostAsync(enrolments, default);
                _cohorts.Add((cohortId, coachId, schedule, clients));
            }
            await pump.RunUntilIdleAsync();
            return (_orgId, key);
        }

        public async Task StepAsync()
        {
            var now = clock.GetUtcNow();
            foreach (var cohort in _cohorts)
            {
                var zone = Zones.Find(cohort.Schedule.TimeZone);
                var local = Zones.ToLocal(now, zone);
                if (local.DayOfWeek == cohort.Schedule.Day && TimeOnly.FromDateTime(local) >= cohort.Schedule.LocalTime
                    && TimeOnly.FromDateTime(local) < cohort.Schedule.LocalTime.Add(Step))
                    await LogSessionsAsync(cohort.CohortId, cohort.Schedule, cohort.Clients, now);
            }
            await pump.RunUntilIdleAsync();
            await PlanRepliesAsync(now);
            foreach (var due in _pendingReplies.Where(r => r.At <= now).ToList())
            {
                _pendingReplies.Remove(due);
                await runtime.SendAsync<ClientLoopState>(new GrainId(_orgId, ClientLoopDecider.GrainType, due.ClientId), due.Reply, default);
            }
            await HandleAlertsAsync(now);
            await pump.RunUntilIdleAsync();
        }

        private async Task LogSessionsAsync(string cohortId, SessionSchedule schedule, List<string> clients, DateTimeOffset now)
        {
            var nextSession = Zones.NextSession(schedule, now);
            for (var i = 0; i < clients.Count; i++)
            {
                var pool = s_actions[i % s_actions.Length];
                var count = 1 + _random.Next(3);
                var items = pool.Take(count).Select((what, k) => new NewActionItem(what, DateOnly.FromDateTime(now.AddDays(3 + k).UtcDateTime), k == 0 ? "how it felt to ask" : null)).ToImmutableList();
                var note = new SessionNote("Pipeline", "Avoids asking directly", items[0].What, "Busy week", "Review what got in the way");
                var cohort = await runtime.GetAsync<CohortState>(new GrainId(_orgId, CohortDecider.GrainType, cohortId), default);
                await runtime.SendAsync<ClientLoopState>(new GrainId(_orgId, ClientLoopDecider.GrainType, clients[i]),
                    new SessionCompleted(now, nextSession, items, note, cohort!.Program), default);
            }
        }

        /// <summary>Looks at what each client just received and decides how (and whether) they answer.</summary>
        private async Task PlanRepliesAsync(DateTimeOffset now)
        {
            foreach (var (clientId, persona) in _personas)
            {
                var state = await runtime.GetAsync<ClientLoopState>(new GrainId(_orgId, ClientLoopDecider.GrainType, clientId), default);
                if (state is null) continue;
                foreach (var touch in state.Touches.Where(t => t.IsPrompt && t.SkippedBecause is null && _answeredTouches.Add(clientId + t.Id)))
                {
                    var weekTwo = state.Sessions.Count >= 2;
                    var isCheck = touch.TouchpointKey == "day5";
                    var later = now + TimeSpan.FromMinutes(30 + _random.Next(240));
                    CheckInReplied? reply = (persona, isCheck) switch
                    {
                        (Persona.Silent, _) => null,
                        (Persona.OnTrack, true) => new(4 + _random.Next(2), _random.Next(3) == 0 ? "good week, felt easier" : null, null, Channel.Sms),
                        (Persona.OnTrack, false) => _random.Next(2) == 0 ? new(null, "yes, started", null, Channel.Sms) : null,
                        (Persona.Stuck, true) => new(2, "no time for calls this week", null, Channel.Sms),
                        (Persona.Stuck, false) => new(null, "stuck on pricing", null, Channel.Sms),
                        (Persona.SlipsInWeekTwo, true) => weekTwo ? new(1, "blocked by my manager", touch.Id, Channel.InApp) : new(3, null, touch.Id, Channel.InApp),
                        _ => null,
                    };
                    if (reply is not null) _pendingReplies.Add((later, clientId, reply));
                }
                if (persona == Persona.OnTrack && state.CurrentSession is { } session && now - session.OccurredAt > TimeSpan.FromDays(3))
                {
                    foreach (var item in session.Items.Where(a => a.CompletedAt is null).Take(1))
                        await runtime.SendAsync<ClientLoopState>(new GrainId(_orgId, ClientLoopDecider.GrainType, clientId), new ActionItemCompleted(item.Id), default);
                }
            }
        }

        /// <summary>Coaches clear most alerts within a few hours; some slip past the next session.</summary>
        private async Task HandleAlertsAsync(DateTimeOffset now)
        {
            foreach (var cohort in _cohorts)
            {
                var id = new GrainId(_orgId, CoachDecider.GrainType, cohort.CoachId);
                var coach = await runtime.GetAsync<CoachState>(id, default);
                foreach (var alert in coach!.Alerts.Where(a => a.HandledAt is null && now - a.RaisedAt > TimeSpan.FromHours(3)))
                {
                    // Every fourth alert waits past the next session (missed). Alert ids are "a1", "a2", …: a stable choice,
                    // unlike string.GetHashCode, which .NET randomizes per process.
                    if (int.Parse(alert.Id[1..], System.Globalization.CultureInfo.InvariantCulture) % 4 == 0 && now < alert.NextSessionAt) continue;
                    await runtime.SendAsync<CoachState>(id, new HandleAlert(alert.Id, "called the client"), default);
                }
            }
        }

        private static async Task Ok<T>(Task<GrainCall<T>> call) where T : class
        {
            if (await call is GrainCall<T>.Rejected r) throw new InvalidOperationException($"demo seed failed: {r.Code} {r.Detail}");
        }

        private static readonly string[] FirstNames = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kara", "Leo", "Mina", "Noah", "Olu", "Priya"];
        private static readonly string[] LastNames = ["Brooks", "Costa", "Diaz", "Evans", "Fischer", "Gupta", "Hughes", "Ito", "Jensen", "Khan", "Lopez", "Moreau", "Novak"];
    }
}

/// <summary>`migrate`: applies the store's migrations and exits (for clusters that migrate before rolling out nodes).</summary>
public static class MigrateCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var config = new ConfigurationBuilder().AddJsonFile("appsettings.json", optional: true).AddEnvironmentVariables().AddCommandLine(args).Build();
        var storage = (config.GetSection("Storage").Get<StorageOptions>() ?? new StorageOptions()).WithConnectionStrings(config);
        Directory.CreateDirectory(storage.DataDirectory);
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(Options.Create(storage))
            .AddCohortGrainsCore()
            .BuildServiceProvider();
        await services.GetRequiredService<IGrainStore>().MigrateAsync(default);
        Console.WriteLine($"Migrations applied ({storage.Provider}).");
        return 0;
    }
}
