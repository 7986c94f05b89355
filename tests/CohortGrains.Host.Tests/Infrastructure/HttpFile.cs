using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>
/// Reads a .http file the way the REST clients of Visual Studio, Rider and VS Code do, as far as ours uses it:
/// "@name = value" variables, "###" between requests, "# @name id" to name one, "{{var}}" and
/// "{{id.response.body.$.path[0].field}}" substitutions, headers, then a body after a blank line.
/// </summary>
public sealed partial class HttpFile
{
    public sealed record Request(string? Name, string Method, string Url, IReadOnlyList<(string Name, string Value)> Headers, string? Body, int Line);

    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);
    public List<Request> Requests { get; } = [];
    private readonly Dictionary<string, JsonNode?> _responses = new(StringComparer.Ordinal);

    public static string RepositoryFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CohortGrains.sln"))) return Path.Combine(dir.FullName, name);
        throw new FileNotFoundException("no CohortGrains.sln above the test binaries");
    }

    public static HttpFile Parse(string text)
    {
        var file = new HttpFile();
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var block = new List<(string Text, int Line)>();
        for (var i = 0; i <= lines.Length; i++)
        {
            if (i == lines.Length || lines[i].StartsWith("###", StringComparison.Ordinal))
            {
                file.ParseBlock(block);
                block.Clear();
                continue;
            }
            block.Add((lines[i], i + 1));
        }
        return file;
    }

    private void ParseBlock(List<(string Text, int Line)> block)
    {
        string? name = null;
        var i = 0;
        for (; i < block.Count; i++)
        {
            var line = block[i].Text.Trim();
            if (VariableLine().Match(line) is { Success: true } v) Variables[v.Groups[1].Value] = v.Groups[2].Value.Trim();
            else if (NameLine().Match(line) is { Success: true } n) name = n.Groups[1].Value;
            else if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("//", StringComparison.Ordinal)) continue;
            else break;
        }
        if (i == block.Count) return; // only variables and comments
        var requestLine = RequestLine().Match(block[i].Text.Trim());
        if (!requestLine.Success) throw new FormatException($"line {block[i].Line}: not a request line: {block[i].Text}");
        var headers = new List<(string, string)>();
        for (i++; i < block.Count && block[i].Text.Trim().Length > 0; i++)
        {
            var colon = block[i].Text.IndexOf(':');
            if (colon <= 0) throw new FormatException($"line {block[i].Line}: not a header: {block[i].Text}");
            headers.Add((block[i].Text[..colon].Trim(), block[i].Text[(colon + 1)..].Trim()));
        }
        var body = string.Join('\n', block.Skip(i).Select(l => l.Text)).Trim();
        Requests.Add(new Request(name, requestLine.Groups[1].Value, requestLine.Groups[2].Value, headers, body.Length > 0 ? body : null, block[0].Line));
    }

    /// <summary>Replaces every {{…}} until none is left; a reference to a response not received yet is an error.</summary>
    public string Resolve(string text)
    {
        for (var depth = 0; depth < 10 && text.Contains("{{", StringComparison.Ordinal); depth++)
            text = Reference().Replace(text, m => Lookup(m.Groups[1].Value.Trim()));
        return text;
    }

    private string Lookup(string reference)
    {
        if (Variables.TryGetValue(reference, out var value)) return value;
        var parts = ResponseReference().Match(reference);
        if (!parts.Success) throw new KeyNotFoundException($"unknown variable {{{{{reference}}}}}");
        var name = parts.Groups[1].Value;
        if (!_responses.TryGetValue(name, out var json)) throw new KeyNotFoundException($"{{{{{reference}}}}}: request '{name}' has not run yet");
        var node = json;
        foreach (Match step in PathStep().Matches(parts.Groups[2].Value))
            node = step.Groups[1].Success ? node?[step.Groups[1].Value] : node?[int.Parse(step.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)];
        return node switch
        {
            null => throw new KeyNotFoundException($"{{{{{reference}}}}}: no such value in the response"),
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            _ => node.ToJsonString(),
        };
    }

    public void Remember(string name, string responseBody) =>
        _responses[name] = responseBody.Length == 0 ? null : JsonNode.Parse(responseBody);

    public static HttpRequestMessage ToMessage(Request request, Func<string, string> resolve)
    {
        var message = new HttpRequestMessage(new HttpMethod(request.Method), resolve(request.Url));
        string? contentType = null;
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) contentType = resolve(value);
            else message.Headers.TryAddWithoutValidation(name, resolve(value));
        }
        if (request.Body is not null)
            message.Content = new StringContent(resolve(request.Body), Encoding.UTF8, contentType ?? "application/json");
        return message;
    }

    [GeneratedRegex(@"^@([A-Za-z_][\w]*)\s*=\s*(.*)$")]
    private static partial Regex VariableLine();

    [GeneratedRegex(@"^#\s*@name\s+(\S+)$")]
    private static partial Regex NameLine();

    [GeneratedRegex(@"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(\S+)(?:\s+HTTP/\S+)?$")]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"\{\{([^{}]+)\}\}")]
    private static partial Regex Reference();

    [GeneratedRegex(@"^(\w+)\.response\.body\.\$(.*)$")]
    private static partial Regex ResponseReference();

    [GeneratedRegex(@"\.(\w+)|\[(\d+)\]")]
    private static partial Regex PathStep();
}
