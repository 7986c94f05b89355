namespace CohortGrains.Channels.Email;

/// <summary>Configuration section "Smtp". Email goes through SMTP only when <see cref="IsConfigured"/>.</summary>
public sealed class SmtpOptions
{
    public const string Section = "Smtp";

    public string? Host { get; set; }
    public int Port { get; set; } = 587;
    /// <summary>Upgrade the connection with STARTTLS (System.Net.Mail does not speak implicit TLS on 465).</summary>
    public bool StartTls { get; set; } = true;
    public string? Username { get; set; }
    public string? Password { get; set; }
    /// <summary>The sender address, e.g. coach@northstar.example.</summary>
    public string? From { get; set; }
    public string? FromName { get; set; }
    /// <summary>Where a client's reply goes (a person reads it; replies by email are not parsed).</summary>
    public string? ReplyTo { get; set; }
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Host);
}
