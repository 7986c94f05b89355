using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CohortGrains.Host.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace CohortGrains.Host.Tests.Security;

/// <summary>
/// Bad input for every endpoint that takes a body, route values or query parameters (enumerated from the host, so later
/// endpoints are fuzzed too): malformed JSON, wrong types, missing and extra fields, 1 MB strings, control characters,
/// lone surrogates, bidi overrides, emoji, SQL injection and HTML/script. Every answer is a 4xx problem (and then the
/// database is byte-for-byte unchanged) or a success that stores the text verbatim and returns it JSON-escaped. Never a 5xx.
/// </summary>
public sealed class BadInputFuzzTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private SecurityWorld _world = null!;
    private SqliteConnection _db = null!;

    public async Task InitializeAsync()
    {
        _world = await SecurityWorld.CreateAsync(_host);
        _db = new SqliteConnection($"Data Source={Path.Combine(_host.DataDirectory, "cohortgrains.db")};Pooling=False;Mode=ReadOnly");
        _db.Open();
    }

    public Task DisposeAsync()
    {
        _db.Dispose();
        _host.Dispose();
        return Task.CompletedTask;
    }

    // Raw JSON text spliced in where a value goes; SENTINEL strings let lone surrogates through unescaped-by-us.
    private static readonly (string Name, string Json)[] s_strings =
    [
        ("empty", "\"\""), ("blank", "\"   \""),
        ("1 MB", "\"" + new string('a', 1024 * 1024) + "\""), ("100 KB", "\"" + new string('b', 100_000) + "\""),
        ("NUL", "\"a\\u0000b\""), ("bell and escape", "\"\\u0007\\u001b[31mred\""), ("CR LF", "\"line1\\r\\nBcc: x@evil.example\""),
        ("lone high surrogate", "\"x\\ud800\""), ("lone low surrogate", "\"\\udc00x\""), ("reversed pair", "\"\\udc00\\ud800\""),
        ("RTL override", "\"\u202Eevil.exe\""), ("RTL mark", "\"\u200F\u05E9\u05DC\u05D5\u05DD\""), ("emoji", "\"🧭👩🏽‍💻🇺🇸\""),
        ("zero width and BOM", "\"a\u200Bb\uFEFF\""), ("combining marks", "\"e\u0301\u0301\u0301\""), ("NEL and line separator", "\"a\\u0085b\u2028c\""),
        ("SQL drop", "\"'; DROP TABLE grains; --\""), ("SQL or", "\"\\\" OR 1=1 --\""), ("SQL delete", "\"Robert'); DELETE FROM api_keys; --\""),
        ("script", "\"<script>alert(1)</script>\""), ("img onerror", "\"<img src=x onerror=alert(1)>\""), ("svg", "\"\\\"><svg/onload=alert(1)>\""),
        ("format strings", "\"{0}{1}%s%n{{firstName}}\""), ("path", "\"../../etc/passwd\""),
    ];

    private static readonly (string Name, string Json)[] s_wrongTypes =
    [
        ("null", "null"), ("number", "12345"), ("negative", "-1"), ("int overflow", "2147483648"), ("huge exponent", "1e400"),
        ("fraction", "1.5"), ("bool", "true"), ("string", "\"abc\""), ("array", "[]"), ("object", "{}"),
    ];

    private static readonly (string Name, string Body)[] s_wholeBodies =
    [
        ("truncated", "{\"name\":\"x\""), ("missing value", "{\"a\":}"), ("open brace", "{"), ("array", "[1,2,3]"), ("string", "\"text\""),
        ("number", "42"), ("null", "null"), ("empty", ""), ("trailing garbage", "{}}}"), ("comment", "/* hi */ {}"),
        ("single quotes", "{'name':'x'}"), ("unquoted key", "{name:\"x\"}"), ("lone surrogate key", "{\"\\ud800\":1}"),
        ("deep nesting", new string('[', 5000) + new string(']', 5000)), ("deep objects", string.Concat(Enumerable.Repeat("{\"a\":", 1000)) + "1" + new string('}', 1000)),
    ];

    private static readonly string[] s_routeValues =
    [
        "' OR '1'='1", "<script>alert(1)</script>", "1; DROP TABLE grains", "%00", "\u0000", "a b", "😀", "\u202Ecli_x", "cli_" + new string('x', 10_000),
        "..", "../../etc/passwd", "cli_x\r\nX-Injected: 1", "-1", "99999999999999999999",
    ];

    private static readonly string[] s_queryValues =
    [
        "abc", "-1", "0", "99999999999999999999", "1.5", "true", "' OR '1'='1", "<script>alert(1)</script>", new string('q', 10_000),
        "\u0000", "😀", "\u202Eevil", "%", "&x=1",
    ];

    private sealed record Case(string What, string Method, string Url, string? Body, byte[]? Bytes = null, string ContentType = "application/json",
        bool MustBeRejected = false, string? EchoProperty = null, string? EchoValue = null);

    [Fact]
    public async Task EveryEndpointAnswersBadInputWithA4xxProblemOrStoresItVerbatimAndNeverFails()
    {
        var endpoints = EndpointCatalog.From(_host.Services);
        var cases = endpoints.SelectMany(CasesFor).ToList();
        Assert.True(cases.Count > 1000, $"only {cases.Count} cases");
        Assert.Contains(endpoints, e => e.BodyType is not null && ValidBodies.IsKnown(e));

        var failures = new List<string>();
        var rejected = 0;
        var changedByAccepted = 0;
        // One hash per case: after a refusal it must equal the one before; after a success it is taken afresh.
        string? current = null;
        foreach (var c in cases)
        {
            var before = current ??= DatabaseHash();
            var key = c.Url.StartsWith("/api/v1/orgs", StringComparison.Ordinal) && c.Method == "POST" ? TestHost.OperatorKey : _world.VictimAdminKey;
            var client = _world.As(key);
            HttpResponseMessage response;
            try
            {
                response = c.Bytes is not null ? await client.BytesAsync(c.Method, c.Url, c.Bytes) : await client.RawAsync(c.Method, c.Url, c.Body, c.ContentType);
            }
            catch (Exception ex) when (ex is InvalidOperationException or UriFormatException or FormatException)
            {
                continue; // the test's own HTTP client refuses to send it (e.g. a CR LF in a URL): nothing reached the server
            }
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            var label = $"{c.Method} {Shorten(c.Url)} [{c.What}] → {status}";

            if (status >= 500)
            {
                failures.Add($"{label}: {Shorten(text, 300)}");
                current = null;
            }
            else if (status >= 400)
            {
                rejected++;
                if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") failures.Add($"{label}: not a problem ({response.Content.Headers.ContentType})");
                current = DatabaseHash();
                if (current != before) failures.Add($"{label}: refused but the database changed");
            }
            else
            {
                if (c.MustBeRejected) failures.Add($"{label}: accepted");
                current = DatabaseHash();
                if (current != before) changedByAccepted++;
            }
            if (status == 201 && c.EchoProperty is not null && Send.TryParse(text) is { } json)
            {
                var echoed = Strings(json, c.EchoProperty).ToList();
                if (echoed.Count > 0 && !echoed.Contains(c.EchoValue!.Trim())) failures.Add($"{label}: stored '{Shorten(echoed[0])}', not verbatim");
            }
            foreach (var tag in new[] { "<script", "<img", "<svg" })
                if (text.Contains(tag, StringComparison.OrdinalIgnoreCase)) failures.Add($"{label}: '{tag}' returned unescaped");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed:\n" + string.Join("\n", failures.Take(80)));
        // The hash does see changes (accepted cases made some), so "refused and unchanged" above is a real check.
        Assert.True(changedByAccepted > 50, $"only {changedByAccepted} accepted cases changed the database");
        Assert.True(rejected > cases.Count / 2, $"only {rejected} of {cases.Count} cases were refused: the fuzzer is not reaching validation");
    }

    private IEnumerable<Case> CasesFor(ApiEndpoint e)
    {
        if (e.AllowsAnonymous) yield break; // probes take no input; webhooks have their own signature tests
        var fill = ValidBodies.Filler(_world.VictimOrgId, _world.CoachA, _world.CohortA, _world.ClientA1);
        var url = e.Url(_world.VictimValue);
        var body = ValidBodies.For(e, fill);

        if (body is not null)
        {
            foreach (var (name, whole) in s_wholeBodies)
                yield return new Case("body " + name, e.Method, url, whole, MustBeRejected: name is not ("empty" or "null") || !IsOptionalBody(e));
            yield return new Case("text/plain", e.Method, url, body, ContentType: "text/plain", MustBeRejected: true);
            var root = JsonNode.Parse(body)!;
            // Invalid UTF-8 inside a value the endpoint reads (in an unknown property the parser may skip it unread).
            if (Walk(root, "").FirstOrDefault(n => n.Node is JsonValue v && v.TryGetValue<string>(out _)).Path is { } firstString)
            {
                var parts = Replace(root, firstString, Sentinel).Split(Sentinel);
                yield return new Case($"{firstString} = invalid UTF-8", e.Method, url, null,
                    Bytes: [.. Encoding.UTF8.GetBytes(parts[0]), (byte)'"', 0xC3, 0x28, 0xFF, (byte)'"', .. Encoding.UTF8.GetBytes(parts[1])], MustBeRejected: true);
            }
            foreach (var (path, node) in Walk(root, ""))
            {
                foreach (var (name, json) in s_wrongTypes) yield return new Case($"{path} = {name}", e.Method, url, Replace(root, path, json));
                if (node is JsonValue v && v.TryGetValue<string>(out _))
                {
                    foreach (var (name, json) in s_strings)
                    {
                        var plain = json.Contains("\\ud", StringComparison.Ordinal) ? null : JsonNode.Parse(json)!.GetValue<string>();
                        // A lone surrogate cannot be stored verbatim (it must be refused); no echo to compare for it.
                        var echo = json.Contains("\\ud", StringComparison.Ordinal) || string.IsNullOrWhiteSpace(plain) ? null : plain;
                        yield return new Case($"{path} = {name}", e.Method, url, Replace(root, path, json), EchoProperty: echo is null ? null : LastName(path), EchoValue: echo,
                            MustBeRejected: json.Contains("\\ud", StringComparison.Ordinal));
                    }
                }
                if (Parent(root, path) is JsonObject) yield return new Case($"{path} missing", e.Method, url, Remove(root, path));
            }
            foreach (var (extra, value) in new[] { ("extra", "\"x\""), ("$type", "\"admin\""), ("orgId", $"\"{_world.AttackerOrgId}\""), ("role", "\"operator\""), ("__proto__", "{\"admin\":true}") })
                if (root is JsonObject) yield return new Case($"extra field {extra}", e.Method, url, AddField(root, extra, value));
        }

        foreach (var parameter in e.RouteParameters)
        {
            foreach (var value in s_routeValues)
            {
                // Dot segments go unescaped: the client resolves them, so the request lands on another route (or none) and may succeed there.
                var dots = value is ".." or "../../etc/passwd";
                var bad = e.Url(p => p == parameter ? value : _world.VictimValue(p), raw: dots);
                yield return new Case($"route {parameter} = {Shorten(value, 20)}", e.Method, bad, body, MustBeRejected: !dots);
            }
        }

        foreach (var (parameter, _) in e.QueryParameters)
            foreach (var value in s_queryValues)
                yield return new Case($"query {parameter} = {Shorten(value, 20)}", e.Method, $"{url}?{parameter}={Uri.EscapeDataString(value)}", body);
    }

    /// <summary>Endpoints whose every field is optional may take an empty or null body (a link's lifetime, an alert's note, a key's label).</summary>
    private static bool IsOptionalBody(ApiEndpoint e) =>
        e.ToString() is "POST /api/v1/clients/{clientId}/links" or "POST /api/v1/coaches/{coachId}/alerts/{alertId}/handle" or "POST /api/v1/orgs/{orgId}/keys";

    // ---- JSON paths: "program.cadence[0].key" ----

    private static IEnumerable<(string Path, JsonNode? Node)> Walk(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, child) in o)
                {
                    var p = path.Length == 0 ? k : $"{path}.{k}";
                    yield return (p, child);
                    foreach (var inner in Walk(child, p)) yield return inner;
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var p = $"{path}[{i}]";
                    yield return (p, a[i]);
                    foreach (var inner in Walk(a[i], p)) yield return inner;
                }
                break;
        }
    }

    private const string Sentinel = "\"__FUZZ_SENTINEL__\"";

    /// <summary>The body with the value at <paramref name="path"/> replaced by raw JSON text (which may be invalid on purpose).</summary>
    private static string Replace(JsonNode root, string path, string rawJson)
    {
        var copy = root.DeepClone();
        Set(copy, path, JsonValue.Create("__FUZZ_SENTINEL__"));
        return copy.ToJsonString().Replace(Sentinel, rawJson, StringComparison.Ordinal);
    }

    private static string Remove(JsonNode root, string path)
    {
        var copy = root.DeepClone();
        ((JsonObject)Parent(copy, path)!).Remove(LastName(path));
        return copy.ToJsonString();
    }

    private static string AddField(JsonNode root, string name, string rawJson)
    {
        var copy = (JsonObject)root.DeepClone();
        copy[name] = JsonValue.Create("__FUZZ_SENTINEL__");
        return copy.ToJsonString().Replace(Sentinel, rawJson, StringComparison.Ordinal);
    }

    private static void Set(JsonNode root, string path, JsonNode value)
    {
        switch (Parent(root, path))
        {
            case JsonObject o: o[LastName(path)] = value; break;
            case JsonArray a: a[LastIndex(path)] = value; break;
        }
    }

    private static JsonNode? Parent(JsonNode root, string path)
    {
        var steps = Steps(path);
        JsonNode? node = root;
        foreach (var step in steps.SkipLast(1)) node = step is int i ? node![i] : node![(string)step];
        return node;
    }

    private static List<object> Steps(string path)
    {
        var steps = new List<object>();
        foreach (var part in path.Split('.'))
        {
            var name = part.Contains('[') ? part[..part.IndexOf('[')] : part;
            if (name.Length > 0) steps.Add(name);
            foreach (var index in part.Split('[').Skip(1)) steps.Add(int.Parse(index.TrimEnd(']'), System.Globalization.CultureInfo.InvariantCulture));
        }
        return steps;
    }

    private static string LastName(string path) => Steps(path).Last() is string s ? s : Steps(path).OfType<string>().LastOrDefault() ?? "";
    private static int LastIndex(string path) => (int)Steps(path).Last();

    private static IEnumerable<string> Strings(JsonNode? node, string property)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, child) in o)
                {
                    if (k == property && child is JsonValue v && v.TryGetValue<string>(out var s)) yield return s;
                    foreach (var inner in Strings(child, property)) yield return inner;
                }
                break;
            case JsonArray a:
                foreach (var child in a)
                    foreach (var inner in Strings(child, property)) yield return inner;
                break;
        }
    }

    /// <summary>Every row of every table: a refused request must leave all of them exactly as they were.</summary>
    private string DatabaseHash()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var tables = new List<string>();
        using (var list = _db.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
            using var r = list.ExecuteReader();
            while (r.Read()) tables.Add(r.GetString(0));
        }
        foreach (var table in tables)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = $"SELECT * FROM \"{table}\" ORDER BY rowid";
            using var r = cmd.ExecuteReader();
            hash.AppendData(Encoding.UTF8.GetBytes(table));
            while (r.Read())
                for (var i = 0; i < r.FieldCount; i++)
                    hash.AppendData(Encoding.UTF8.GetBytes((r.IsDBNull(i) ? "∅" : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)) + "|"));
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static string Shorten(string s, int max = 120) => s.Length <= max ? s : s[..max] + "…";
}
