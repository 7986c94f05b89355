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
}

public static class Policies
{
    /// <summary>Runs the service: creates orgs, sees the cluster.</summary>
    public const string Operator = "operator";
    /// <summary>Works inside one org: an org admin, or a coach.</summary>
    public const string OrgMember = "org-member";
}

public static class ClaimNames
{
    public const string Org = "cg:org";
    public const string Subject = "cg:sub";
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

/// <summary>"Authorization: Bearer cg_…" (or X-Api-Key): an org key from the store, or the operator key from configuration.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainStore store,
    OperatorKey operatorKey,
    TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey();
        if (key is null) return AuthenticateResult.NoResult();
        if (key.Length > 200) return AuthenticateResult.Fail("malformed key");

        if (operatorKey.Matches(key))
            return Success(Roles.Operator, org: null, subject: "operator");

        var record = await store.FindApiKeyAsync(ApiKeys.Hash(key), Context.RequestAborted);
        if (record is null || record.RevokedAt is { } revoked && revoked <= clock.GetUtcNow())
            return AuthenticateResult.Fail("unknown or revoked key");
        return Success(record.Role, record.OrgId, record.SubjectId);
    }

    private string? ReadKey()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        var apiKey = Request.Headers["X-Api-Key"].ToString();
        return apiKey.Length > 0 ? apiKey.Trim() : null;
    }

    private AuthenticateResult Success(string role, string? org, string? subject)
    {
        var claims = new List<Claim> { new(ClaimTypes.Role, role) };
        if (org is not null) claims.Add(new Claim(ClaimNames.Org, org));
        if (subject is not null) claims.Add(new Claim(ClaimNames.Subject, subject));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
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
