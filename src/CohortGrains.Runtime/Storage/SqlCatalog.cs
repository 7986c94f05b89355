using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace CohortGrains.Runtime.Storage;

/// <summary>
/// Named queries read from embedded <c>.sql</c> resources, so SQL stays in SQL files that a DBA can read.
/// A file holds several queries; each starts with a line <c>-- name: QueryName</c> and runs to the next header.
/// </summary>
public sealed partial class SqlCatalog
{
    private readonly Dictionary<string, string> _queries;
    private readonly string _sources;

    private SqlCatalog(Dictionary<string, string> queries, string sources)
    {
        _queries = queries;
        _sources = sources;
    }

    public IReadOnlyCollection<string> Names => _queries.Keys;

    /// <summary>The query called <paramref name="name"/>; throws when no loaded file defines it.</summary>
    public string this[string name] => _queries.TryGetValue(name, out var sql)
        ? sql
        : throw new KeyNotFoundException(
            $"No SQL query named '{name}' in {_sources}. Known: {string.Join(", ", _queries.Keys.Order())}.");

    /// <summary>
    /// Loads every embedded resource of <paramref name="assembly"/> whose manifest name ends with one of
    /// <paramref name="resourceSuffixes"/> (e.g. <c>".Sql.grains.sql"</c>). Each suffix must match a resource and
    /// names must be unique across the files, so a typo fails at start-up rather than on first use.
    /// </summary>
    public static SqlCatalog Load(Assembly assembly, params string[] resourceSuffixes)
    {
        if (resourceSuffixes.Length == 0)
            throw new ArgumentException("Give at least one resource suffix.", nameof(resourceSuffixes));

        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        var sources = new List<string>();
        foreach (var suffix in resourceSuffixes)
        {
            var matches = assembly.GetManifestResourceNames()
                .Where(n => n.EndsWith(suffix, StringComparison.Ordinal))
                .ToList();
            if (matches.Count == 0)
                throw new InvalidOperationException(
                    $"No embedded resource ending with '{suffix}' in {assembly.GetName().Name}.");

            foreach (var resource in matches)
            {
                sources.Add(resource);
                foreach (var (name, sql) in Parse(ReadResource(assembly, resource), resource))
                {
                    if (!queries.TryAdd(name, sql))
                        throw new InvalidOperationException($"SQL query '{name}' is defined twice (again in {resource}).");
                }
            }
        }
        return new SqlCatalog(queries, string.Join(", ", sources));
    }

    /// <summary>Splits a file at its <c>-- name:</c> headers. Only comments and blank lines may precede the first one.</summary>
    public static IEnumerable<(string Name, string Sql)> Parse(string text, string source)
    {
        string? name = null;
        var body = new StringBuilder();
        foreach (var line in text.ReplaceLineEndings("\n").Split('\n'))
        {
            var header = NameHeader().Match(line);
            if (header.Success)
            {
                if (name is not null) yield return Finish(name, body, source);
                name = header.Groups[1].Value;
                body.Clear();
            }
            else if (name is not null)
            {
                body.AppendLine(line);
            }
            else if (line.Trim().Length > 0 && !line.TrimStart().StartsWith("--", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{source}: SQL before the first '-- name:' header: '{line.Trim()}'.");
            }
        }
        if (name is not null) yield return Finish(name, body, source);
    }

    private static (string, string) Finish(string name, StringBuilder body, string source)
    {
        var sql = body.ToString().Trim();
        if (sql.Length == 0) throw new InvalidOperationException($"{source}: query '{name}' is empty.");
        return (name, sql);
    }

    /// <summary>
    /// The migrations embedded as <c>&lt;folder&gt;/NNNN_description.sql</c>, ordered by number. Each must open with a
    /// comment saying why it exists, and numbers must be unique, so a bad migration fails before touching a database.
    /// </summary>
    public static IReadOnlyList<SqlMigration> LoadMigrations(Assembly assembly, string folder = "Migrations")
    {
        var marker = $".{folder}.";
        var migrations = new List<SqlMigration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var at = resource.LastIndexOf(marker, StringComparison.Ordinal);
            if (at < 0) continue;
            var file = resource[(at + marker.Length)..];
            var match = MigrationFile().Match(file);
            if (!match.Success)
                throw new InvalidOperationException($"Migration '{resource}' is not named NNNN_description.sql.");

            var sql = ReadResource(assembly, resource).Trim();
            if (!sql.StartsWith("--", StringComparison.Ordinal))
                throw new InvalidOperationException($"Migration '{file}' must start with a comment saying why it exists.");
            migrations.Add(new SqlMigration(int.Parse(match.Groups[1].Value), match.Groups[2].Value, sql));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
                throw new InvalidOperationException($"Two migrations are numbered {migrations[i].Version}.");
        }
        return migrations;
    }

    private static string ReadResource(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource '{resource}' not found.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^\s*--\s*name:\s*(\w+)\s*$")]
    private static partial Regex NameHeader();

    [GeneratedRegex(@"^(\d{4})_(\w+)\.sql$")]
    private static partial Regex MigrationFile();
}

/// <summary>One numbered schema change; <see cref="Name"/> is the description part of the file name.</summary>
public sealed record SqlMigration(int Version, string Name, string Sql);
