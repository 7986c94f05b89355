using System.Security.Claims;
using System.Text.Encodings.Web;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Infrastructure;

public static class Roles
{
    public const string Operator = "operator";
    public const string OrgAdmin = "org-admin";
    public const string Coach = "coach";
    /// <summary>A coachee, through a magic link: sees and answers only their own loop.</summary>
    public const string Client = "client";
}

public static class Policies
{
    /// <summary>Runs the service: creates orgs, sees the cluster.</summary>
    public const string Operator = "operator";
    /// <summary>Works inside one org: an org admin, or a coach (handlers narrow a coach to their own cohorts and clients, see <see cref="Access"/>).</summary>
    public const string OrgMember = "org-member";
    /// <summary>Runs one org: keys, the audit log, erasure.</summary>
    public const string OrgAdmin = "org-admin-only";
    /// <summary>Staff as above, or a client through a magic link (handlers narrow a client to themselves).</summary>
    public const string OrgMemberOrClient = "org-member-or-client";
}

public static class ClaimNames
{
    public const string Org = "cg:org";
    public const string Subject = "cg:sub";
    /// <summary>The public id of the key or link that authenticated the request: the actor of an admin's audit entries.</summary>
    public const string KeyId = "cg:key";
}

public static class PrincipalExtensions
{
    public static string OrgId(this ClaimsPrincipal user) =>
        user.FindFirstValue(ClaimNames.Org) ?? throw new InvalidOperationException("principal has no org");
}

public sealed class OperatorOptions
{
    /// <summary>The operator key. When empty, one is generated on first start and kept in the data directory.</summary>
    public string? ApiKey { get; set; }
}

/// <summary>
/// "Authorization: Bearer …" (or X-Api-Key): the operator key from configuration, an org key ("cg_…") from the store,
/// or a client's magic link ("cgl_…"), whose signature and expiry are checked before the store is asked whether it
/// was revoked.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainStore store,
    OperatorKey operatorKey,
    ClientLinks links,
    TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey();
        if (key is null) return AuthenticateResult.NoResult();
        var (who, failure) = await ResolveAsync(store, operatorKey, links, key, clock.GetUtcNow(), Context.RequestAborted);
        return who is null
            ? AuthenticateResult.Fail(failure!)
            : AuthenticateResult.Success(new AuthenticationTicket(who.ToPrincipal(SchemeName), SchemeName));
    }

    /// <summary>
    /// Who a presented key or link is, or why it is refused. The one lookup behind both the API's bearer keys and the
    /// web UI's sign-in (which trades a key for a cookie carrying the same claims), so the two can never disagree.
    /// </summary>
    public static async Task<(ResolvedCredential? Who, string? Failure)> ResolveAsync(
        IGrainStore store, OperatorKey operatorKey, ClientLinks links, string key, DateTimeOffset now, CancellationToken ct)
    {
        if (key.Length > 512) return (null, "malformed key");

        if (operatorKey.Matches(key))
            return (new ResolvedCredential(Roles.Operator, null, "operator", "operator", null, null), null);

        if (key.StartsWith(ClientLinks.Prefix, StringComparison.Ordinal))
        {
            // A forged or expired link is refused here, without a store round trip.
            if (links.Verify(key, now) is not { } link) return (null, "invalid or expired link");
            var row = await store.FindApiKeyAsync(ApiKeys.Hash(key), ct);
            if (row is null || !row.IsActiveAt(now) || row.Role != Roles.Client || row.OrgId != link.OrgId || row.SubjectId != link.ClientId)
                return (null, "revoked link");
            return (new ResolvedCredential(Roles.Client, row.OrgId, row.SubjectId, row.KeyId, row.KeyHash, link.ExpiresAt), null);
        }

        var record = await store.FindApiKeyAsync(ApiKeys.Hash(key), ct);
        // A key row with the client role is only ever a link: it must come in through the signed path above.
        if (record is null || !record.IsActiveAt(now) || record.Role == Roles.Client)
            return (null, "unknown, expired or revoked key");
        return (new ResolvedCredential(record.Role, record.OrgId, record.SubjectId, record.KeyId, record.KeyHash, record.ExpiresAt), null);
    }

    /// <summary>
    /// Whether a credential resolved earlier (and remembered by its hash, as a web session does) still authenticates:
    /// the same row checks as <see cref="ResolveAsync"/>, so revoking a key or link ends the sessions made from it.
    /// </summary>
    public static async Task<bool> StillValidAsync(IGrainStore store, ResolvedCredential who, DateTimeOffset now, CancellationToken ct)
    {
        if (who.KeyHash is null) return false;
        var row = await store.FindApiKeyAsync(who.KeyHash, ct);
        return row is not null && row.IsActiveAt(now) && row.Role == who.Role && row.OrgId == who.OrgId && row.SubjectId == who.SubjectId;
    }

    private string? ReadKey()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        var apiKey = Request.Headers["X-Api-Key"].ToString();
        return apiKey.Length > 0 ? apiKey.Trim() : null;
    }

}

/// <summary>What a valid key or link says about its holder: the claims every authenticated request carries.</summary>
/// <param name="KeyHash">The stored hash of the key or link (never the key): lets a web session be re-checked against revocation.</param>
/// <param name="ExpiresAt">When the key or link stops authenticating, if ever.</param>
public sealed record ResolvedCredential(string Role, string? OrgId, string? SubjectId, string KeyId, string? KeyHash, DateTimeOffset? ExpiresAt)
{
    public IEnumerable<Claim> Claims()
    {
        yield return new Claim(ClaimTypes.Role, Role);
        yield return new Claim(ClaimNames.KeyId, KeyId);
        if (OrgId is not null) yield return new Claim(ClaimNames.Org, OrgId);
        if (SubjectId is not null) yield return new Claim(ClaimNames.Subject, SubjectId);
    }

    public ClaimsPrincipal ToPrincipal(string authenticationType) => new(new ClaimsIdentity(Claims(), authenticationType));
}

/// <summary>Holds the operator key (configured, or generated once and saved beside the database).</summary>
public sealed class OperatorKey
{
    private readonly string _key;

    public OperatorKey(IOptions<OperatorOptions> options, IOptions<StorageOptions> storage, ILogger<OperatorKey> logger)
    {
        if (!string.IsNullOrWhiteSpace(options.Value.ApiKey))
        {
            _key = options.Value.ApiKey.Trim();
            return;
        }
        var path = Path.Combine(storage.Value.DataDirectory, "operator-key");
        if (File.Exists(path))
        {
            _key = File.ReadAllText(path).Trim();
            return;
        }
        Directory.CreateDirectory(storage.Value.DataDirectory);
        _key = ApiKeys.Generate().Key;
        File.WriteAllText(path, _key + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        logger.LogWarning("No Operator:ApiKey configured: generated one and saved it to {Path} (readable by this user only)", Path.GetFullPath(path));
    }

    public bool Matches(string candidate) => ApiKeys.FixedTimeEquals(candidate, _key);
}
