using System.Diagnostics;
using Npgsql;

namespace CohortGrains.Storage.Postgres.Tests;

/// <summary>
/// The throwaway PostgreSQL that ./test.sh starts on loopback (superuser, trust auth), described by environment
/// variables. Without them every test here fails with a message saying how to get one: a missing database must never
/// look like a passing (or skipped) cluster test.
/// </summary>
public static class PostgresServer
{
    public const string Missing = "PostgreSQL not available: run ./test.sh (it starts a throwaway server and sets COHORTGRAINS_TEST_POSTGRES)";

    /// <summary>Connection string of the superuser on the maintenance database.</summary>
    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable("COHORTGRAINS_TEST_POSTGRES") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(Missing);

    public static string ConnectionString(string database, string? schema = null) =>
        new NpgsqlConnectionStringBuilder(AdminConnectionString)
        {
            Database = database,
            SearchPath = schema,
            // Each store has its own pool; keep the pools small so three nodes and the tests fit in max_connections.
            MaxPoolSize = 30,
        }.ConnectionString;

    /// <summary>
    /// The tests' own statements use a connection of their own, never a pooled one: after a server restart a pooled
    /// connection would be dead, and the nodes' recovery is what is under test, not the test's.
    /// </summary>
    private static NpgsqlConnection Unpooled(string connectionString) =>
        new(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var c = Unpooled(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var c = Unpooled(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Restarts the server (fast shutdown: every connection is cut, nothing committed is lost) with the options test.sh
    /// started it with, and waits until it accepts connections again.
    /// </summary>
    public static async Task RestartAsync(CancellationToken ct)
    {
        var pgCtl = Require("COHORTGRAINS_TEST_PG_CTL");
        var data = Require("COHORTGRAINS_TEST_PG_DATA");
        var options = Require("COHORTGRAINS_TEST_PG_OPTIONS");
        // The server's output must go to a file: if it inherited our pipes, waiting for pg_ctl would never end.
        var log = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(data))!, "server.log");
        string[] pgCtlArgs = ["-D", data, "-l", log, "-m", "fast", "-w", "-t", "60", "-o", options, "restart"];
        // PostgreSQL refuses to run as root; test.sh runs as root in CI and starts the server as postgres.
        var (file, args) = Environment.UserName == "root"
            ? ("runuser", (string[])["-u", "postgres", "--", pgCtl, .. pgCtlArgs])
            : (pgCtl, pgCtlArgs);
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"pg_ctl restart failed ({process.ExitCode}): {await output}{await errors}");
    }

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Missing}; {name} is not set, so the server cannot be restarted");
}

/// <summary>
/// One database per test class, created through the superuser connection and dropped (with its connections) after
/// the class. Tests that need a fresh store take a fresh schema in it.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public string Name { get; } = $"cg_test_{Guid.NewGuid():N}"[..24];

    public string ConnectionString(string? schema = null) => PostgresServer.ConnectionString(Name, schema);

    public async Task InitializeAsync() =>
        await PostgresServer.ExecuteAsync(PostgresServer.AdminConnectionString, $"CREATE DATABASE {Name}");

    /// <summary>A new empty schema; a store whose connection string names it sees only its own tables.</summary>
    public async Task<string> CreateSchemaAsync()
    {
        var schema = $"s_{Guid.NewGuid():N}"[..18];
        await PostgresServer.ExecuteAsync(ConnectionString(), $"CREATE SCHEMA {schema}");
        return schema;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await PostgresServer.ExecuteAsync(PostgresServer.AdminConnectionString, $"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }
}
