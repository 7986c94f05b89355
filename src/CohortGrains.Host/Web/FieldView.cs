namespace CohortGrains.Host.Web;

/// <summary>One form field as the pages draw it: its value as typed and the server's message for it, if any.</summary>
/// <param name="AlsoDescribedBy">The id of another element that explains this field (a hint shown below its group).</param>
public sealed record FieldView(string Id, string Name, string Label, string? Value, string? Error, string Type = "text", bool Multiline = false,
    int MaxLength = 500, bool Required = false, string? Help = null, string? AlsoDescribedBy = null)
{
    public string? DescribedBy
    {
        get
        {
            var ids = new[] { Help is null ? null : Id + "-help", Error is null ? null : Id + "-error", AlsoDescribedBy }.OfType<string>().ToList();
            return ids.Count == 0 ? null : string.Join(' ', ids);
        }
    }
}

/// <summary>Field errors keyed as the API names them ("actionItems[0].what", "note.focus"), for the pages to place.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, string> _errors = new(StringComparer.Ordinal);

    public static FieldErrors From(IReadOnlyDictionary<string, string[]> errors)
    {
        var result = new FieldErrors();
        foreach (var (field, messages) in errors) result._errors[field] = string.Join("; ", messages);
        return result;
    }

    public void Add(string field, string message) => _errors[field] = message;

    public string? this[string field] => _errors.TryGetValue(field, out var m) ? Capitalize(m) : null;

    public bool Any => _errors.Count > 0;

    public int Count => _errors.Count;

    /// <summary>The messages for fields the form does not show (or does not know), so none is silently lost.</summary>
    public IEnumerable<string> Except(IEnumerable<string> shown) => _errors.Where(e => !shown.Contains(e.Key)).Select(e => $"{e.Key}: {e.Value}");

    /// <summary>The API words its messages after the field name ("is required"); a form shows them under a label.</summary>
    private static string Capitalize(string message) =>
        message.StartsWith("is ", StringComparison.Ordinal) || message.StartsWith("must ", StringComparison.Ordinal)
            ? "This " + message + "."
            : char.ToUpperInvariant(message[0]) + message[1..] + (message.EndsWith('.') ? "" : ".");
}
