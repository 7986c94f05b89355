namespace CohortGrains.Host.Security;

public static class SecurityApi
{
    /// <summary>Keys, the audit log, and what a client's data rights need: links, export, erasure.</summary>
    public static RouteGroupBuilder MapSecurity(this RouteGroupBuilder api) => api.MapKeys().MapAudit().MapClientPrivacy();
}
