using CohortGrains.Domain.ClientLoops;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Sessions;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CohortGrains.Host.Pages.Coach;

/// <summary>
/// Logging a session: 1–3 action items (what, by when, what to notice) and the five-line note. Validation, the
/// vagueness hints and the logging itself are the API's (<see cref="SessionsApi"/>): this page only places the API's
/// field messages next to the inputs. A vague item is shown back with its hint before anything is saved, while the
/// client is still in the room; the coach sharpens it or saves it as it is.
/// </summary>
public sealed class LogSessionModel(GrainRuntime runtime) : WebPageModel(runtime)
{
    public const int Rows = ClientLoopDecider.MaxActionItems;

    public sealed class ItemInput
    {
        public string? What { get; set; }
        public string? ByWhen { get; set; }
        public string? Notice { get; set; }

        public bool IsBlank => string.IsNullOrWhiteSpace(What) && string.IsNullOrWhiteSpace(ByWhen) && string.IsNullOrWhiteSpace(Notice);
    }

    public sealed class NoteInput
    {
        public string? Focus { get; set; }
        public string? Insight { get; set; }
        public string? AgreedAction { get; set; }
        public string? Obstacle { get; set; }
        public string? FollowUp { get; set; }
    }

    [BindProperty]
    public List<ItemInput> Items { get; set; } = [];

    [BindProperty]
    public NoteInput Note { get; set; } = new();

    /// <summary>Set by "Save as it is" after the hints were shown.</summary>
    [BindProperty]
    public bool AcceptVague { get; set; }

    public ClientLoopState? Client { get; private set; }

    /// <summary>Field messages, keyed by the form's own names ("Items[0].What", "Note.Focus").</summary>
    public FieldErrors Errors { get; private set; } = new();

    /// <summary>Vagueness hints by form row.</summary>
    public Dictionary<int, string> Hints { get; } = [];

    /// <summary>A refusal that is about the session, not a field (the cohort is not active, the program ended).</summary>
    public string? FormError { get; private set; }

    public FieldView ItemField(int row, string part)
    {
        var item = Items[row];
        var name = $"Items[{row}].{part}";
        return part switch
        {
            "What" => new FieldView($"item-{row}-what", name, "What will they do?", item.What, Errors[name] ?? Errors[$"Items[{row}]"], MaxLength: 300,
                Required: row == 0, AlsoDescribedBy: Hints.ContainsKey(row) ? $"item-{row}-hint" : null),
            "ByWhen" => new FieldView($"item-{row}-by", name, "By when", item.ByWhen, Errors[name], Type: "date"),
            _ => new FieldView($"item-{row}-notice", name, "What to notice", item.Notice, Errors[name], MaxLength: 300),
        };
    }

    /// <summary>The error summary's entries: each field's label and message, linked to the input.</summary>
    public IEnumerable<(string Id, string Label, string Message)> ErrorLinks()
    {
        for (var row = 0; row < Items.Count; row++)
            foreach (var part in new[] { "What", "ByWhen", "Notice" })
                if (ItemField(row, part) is { Error: { } message } field) yield return (field.Id, $"Action {row + 1}: {field.Label}", message);
        foreach (var (part, label) in NoteParts)
            if (Errors["Note." + part] is { } message) yield return ($"note-{part.ToLowerInvariant()}", label, message);
    }

    public static readonly (string Part, string Label)[] NoteParts =
        [("Focus", "Focus"), ("Insight", "Insight"), ("AgreedAction", "Agreed action"), ("Obstacle", "Likely obstacle"), ("FollowUp", "Follow-up point")];

    public FieldView NoteField(string part, string label, string? value) =>
        new($"note-{part.ToLowerInvariant()}", "Note." + part, label, value, Errors["Note." + part], Multiline: true, Required: true);

    public async Task<IActionResult> OnGetAsync(string clientId, CancellationToken ct)
    {
        if (!await LoadAsync(clientId, ct)) return Missing("client");
        Pad();
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string clientId, CancellationToken ct)
    {
        if (!await LoadAsync(clientId, ct)) return Missing("client");
        Pad();
        // The rows the coach used, in order; the API numbers them from 0, the form keeps its own row numbers.
        var used = Items.Select((item, row) => (item, row)).Where(x => !x.item.IsBlank).ToList();
        var request = new LogSessionRequest(null, null,
            used.Select(x => (ActionItemDto?)new ActionItemDto(x.item.What, x.item.ByWhen, x.item.Notice)).ToList(),
            new SessionNoteDto(Note.Focus, Note.Insight, Note.AgreedAction, Note.Obstacle, Note.FollowUp));

        // Everything the API would refuse, all at once, before anything is saved; then the hints.
        var v = new Validation();
        var items = SessionsApi.ParseItems(v, request.ActionItems);
        SessionsApi.ParseNote(v, request.Note);
        if (!v.IsValid) return Invalid(v.Errors(), used.Select(x => x.row).ToList());
        if (!AcceptVague)
        {
            foreach (var hint in SessionsApi.VaguenessHints(items))
            {
                var k = int.Parse(hint[(hint.IndexOf('[') + 1)..hint.IndexOf(']')], System.Globalization.CultureInfo.InvariantCulture);
                Hints[used[k].row] = hint[(hint.IndexOf(':') + 2)..];
            }
            if (Hints.Count > 0) return Page();
        }

        var result = await SessionsApi.LogSessionAsync(Runtime, Runtime.Clock, OrgId, Client!, request, sourceEventId: null,
            Audit.Entry(HttpContext, "session.logged", "client", clientId), ct);
        switch (result)
        {
            case Created<LoggedSessionResponse>:
                return LocalRedirect($"/coach/clients/{clientId}/timeline?logged=true");
            case ValidationProblem problem:
                return Invalid(problem.ProblemDetails.Errors.ToDictionary(e => e.Key, e => e.Value), used.Select(x => x.row).ToList());
            case ProblemHttpResult problem:
                FormError = problem.ProblemDetails.Detail;
                return Page();
            default:
                FormError = "The session could not be logged.";
                return Page();
        }
    }

    /// <summary>
    /// The API's field names mapped onto the form's rows and inputs, the page re-rendered with them. A 200 like any form
    /// page: the answer is the form again, and browsers would log a 4xx document as an error.
    /// </summary>
    private PageResult Invalid(IReadOnlyDictionary<string, string[]> errors, IReadOnlyList<int> rows)
    {
        var mapped = new FieldErrors();
        foreach (var (field, messages) in errors)
        {
            var message = string.Join("; ", messages);
            var name = field switch
            {
                "actionItems" => "Items",
                _ when field.StartsWith("actionItems[", StringComparison.Ordinal) => RowField(field, rows),
                _ when field.StartsWith("note.", StringComparison.Ordinal) => "Note." + char.ToUpperInvariant(field[5]) + field[6..],
                _ => field,
            };
            mapped.Add(name, message);
        }
        Errors = mapped;
        return Page();
    }

    private static string RowField(string field, IReadOnlyList<int> rows)
    {
        var close = field.IndexOf(']');
        var k = int.Parse(field["actionItems[".Length..close], System.Globalization.CultureInfo.InvariantCulture);
        var rest = field[(close + 1)..].TrimStart('.');
        var row = k < rows.Count ? rows[k] : k;
        return rest.Length == 0 ? $"Items[{row}]" : $"Items[{row}].{char.ToUpperInvariant(rest[0])}{rest[1..]}";
    }

    private async Task<bool> LoadAsync(string clientId, CancellationToken ct)
    {
        await LoadHeaderAsync(ct);
        // The same lookup the API's POST /clients/{id}/sessions starts with.
        Client = await ClientsApi.FindAsync(Runtime, HttpContext, clientId, ct);
        return Client is not null;
    }

    /// <summary>Always three rows on screen, whatever came back from the browser (never more).</summary>
    private void Pad()
    {
        if (Items.Count > Rows) Items = Items.Take(Rows).ToList();
        while (Items.Count < Rows) Items.Add(new ItemInput());
    }
}
