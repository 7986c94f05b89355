using Microsoft.Data.Sqlite;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>Searches a whole SQLite database: every column of every row of every table, and the raw bytes of its files.</summary>
public static class DatabaseScan
{
    public static string PathOf(TestHost host) => System.IO.Path.Combine(host.DataDirectory, "cohortgrains.db");

    /// <summary>"table.column" for each column holding <paramref name="text"/> (case-insensitive) in some row.</summary>
    public static IReadOnlyList<string> FindInTables(string dbPath, string text)
    {
        var hits = new List<string>();
        using var c = new SqliteConnection($"Data Source={dbPath};Pooling=False;Mode=ReadOnly");
        c.Open();
        foreach (var table in Query(c, "SELECT name FROM sqlite_master WHERE type = 'table'"))
        {
            foreach (var column in Query(c, $"SELECT name FROM pragma_table_info('{table}')"))
            {
                using var cmd = c.CreateCommand();
                cmd.CommandText = $"SELECT COUNT(*) FROM \"{table}\" WHERE instr(lower(CAST(\"{column}\" AS TEXT)), lower($t)) > 0";
                cmd.Parameters.AddWithValue("$t", text);
                if ((long)cmd.ExecuteScalar()! > 0) hits.Add($"{table}.{column}");
            }
        }
        return hits;
    }

    /// <summary>Which of the database file, its WAL and its journal hold <paramref name="text"/> as UTF-8 bytes (read while the host runs).</summary>
    public static IReadOnlyList<string> FindInFiles(string dbPath, string text)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        var hits = new List<string>();
        foreach (var file in new[] { dbPath, dbPath + "-wal", dbPath + "-journal" })
        {
            if (!File.Exists(file)) continue;
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            if (copy.GetBuffer().AsSpan(0, (int)copy.Length).IndexOf(needle) >= 0) hits.Add(System.IO.Path.GetFileName(file));
        }
        return hits;
    }

    private static List<string> Query(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var values = new List<string>();
        while (r.Read()) values.Add(r.GetString(0));
        return values;
    }
}
