using System.Net;
using System.Net.Mail;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using CohortGrains.Channels.Links;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Channels.Email;

/// <summary>
/// Email over SMTP with System.Net.Mail (MailKit is not on our feed): STARTTLS when configured, optional credentials,
/// a text body with an HTML alternative, List-Unsubscribe (+ one-click POST, RFC 8058). SMTP's own classes decide
/// the outcome: 4xx replies, timeouts and dropped connections are retried; 5xx replies fail with the server's words.
/// </summary>
public sealed class SmtpEmailChannel(
    IOptions<SmtpOptions> options,
    IOptions<LinksOptions> linkOptions,
    IOptions<PublicUrlOptions> publicUrl,
    SignedLinks links,
    TimeProvider clock,
    ILogger<SmtpEmailChannel> logger) : IChannel
{
    private readonly SmtpOptions _options = options.Value;

    public string Name => ChannelNames.Email;

    public async Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct)
    {
        MailAddress to;
        try
        {
            to = new MailAddress(message.Recipient);
        }
        catch (FormatException)
        {
            return new SendOutcome.Permanent($"'{message.Recipient}' is not an email address");
        }

        var content = EmailContent.Render(message, links, publicUrl.Value.BaseUrl, clock.GetUtcNow(), linkOptions.Value);
        var messageId = MessageId(message);
        using var mail = new MailMessage
        {
            From = new MailAddress(_options.From ?? throw new InvalidOperationException("Smtp:From is required"), _options.FromName, Encoding.UTF8),
            Subject = content.Subject,
            SubjectEncoding = Encoding.UTF8,
            Body = content.Text,
            BodyEncoding = Encoding.UTF8,
            IsBodyHtml = false,
        };
        mail.To.Add(to);
        if (!string.IsNullOrWhiteSpace(_options.ReplyTo)) mail.ReplyToList.Add(new MailAddress(_options.ReplyTo));
        mail.AlternateViews.Add(AlternateView.CreateAlternateViewFromString(content.Html, Encoding.UTF8, "text/html"));
        // Stable across attempts: if a send is repeated after a crash, receivers can tell it is the same message.
        mail.Headers.Add("Message-ID", messageId);
        if (content.UnsubscribeUrl is { } unsubscribe)
        {
            mail.Headers.Add("List-Unsubscribe", $"<{unsubscribe}>");
            mail.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }

        using var smtp = new SmtpClient(_options.Host, _options.Port)
        {
            DeliveryMethod = SmtpDeliveryMethod.Network,
            EnableSsl = _options.StartTls,
            Timeout = (int)_options.Timeout.TotalMilliseconds,
        };
        if (!string.IsNullOrEmpty(_options.Username)) smtp.Credentials = new NetworkCredential(_options.Username, _options.Password);

        try
        {
            await smtp.SendMailAsync(mail, ct);
            logger.LogDebug("SMTP accepted outbox row {OutboxId} as {MessageId}", message.Id, messageId);
            return new SendOutcome.Accepted(messageId, "sent");
        }
        catch (SmtpException e) when (!ct.IsCancellationRequested)
        {
            return Classify(e);
        }
        catch (Exception e) when (e is IOException or SocketException && !ct.IsCancellationRequested)
        {
            return new SendOutcome.Transient($"SMTP connection failed: {e.Message}");
        }
    }

    /// <summary>RFC 5321: 4yz is transient, 5yz permanent. "GeneralFailure" (-1) is no reply at all: timeouts, refused connections.</summary>
    public static SendOutcome Classify(SmtpException e)
    {
        var code = (int)e.StatusCode;
        var detail = Inner(e);
        return code switch
        {
            >= 400 and < 500 => new SendOutcome.Transient($"SMTP {code}: {detail}"),
            >= 500 and < 600 => new SendOutcome.Permanent($"SMTP {code}: {detail}", code.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            _ => new SendOutcome.Transient($"SMTP failed: {detail}"),
        };
    }

    private static string Inner(Exception e)
    {
        var messages = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
            if (!messages.Contains(x.Message)) messages.Add(x.Message);
        return string.Join(" ", messages).Trim();
    }

    private string MessageId(ClaimedOutbox message)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message.IdempotencyKey)))[..32];
        var at = _options.From is { } from && from.LastIndexOf('@') is var i and > 0 ? from[(i + 1)..].Trim('>', ' ') : "cohortgrains.local";
        return $"<{hash}@{at}>";
    }
}
