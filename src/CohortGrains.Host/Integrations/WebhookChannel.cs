using System.Net;
using System.Net.Sockets;
using System.Text;
using CohortGrains.Domain.Integrations;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Integrations;

/// <summary>
/// The "webhook" outbox channel: one signed POST of an event to one endpoint. Deliveries are outbox rows, so they get the
/// outbox's leases, fencing, retries with exponential backoff and jitter, and a status per row — which is the endpoint's
/// delivery log. 2xx is delivered; 410 Gone stops; anything else (timeouts, 5xx, 429, other 4xx) is retried, because a
/// receiver's bad deploy should not lose events. At least once: receivers deduplicate on the event id.
/// </summary>
public sealed class WebhookChannel(GrainRuntime runtime, IHttpClientFactory clients, TimeProvider clock) : IChannel
{
    public const string HttpClientName = "webhooks";

    public string Name => ChannelNames.Webhook;

    public async Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct)
    {
        var integrations = await runtime.GetAsync<IntegrationsState>(message.Grain, ct);
        var endpoint = integrations?.Endpoints.FirstOrDefault(e => e.Id == message.Recipient);
        if (endpoint is null) return new SendOutcome.Permanent("the endpoint was removed", "endpoint_removed");

        var body = Encoding.UTF8.GetBytes(message.Body);
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(Signatures.EventHeader, message.Template);
        request.Headers.Add(Signatures.DeliveryHeader, message.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(Signatures.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(Signatures.SignatureHeader, Signatures.Sign(endpoint.Secret, timestamp, body));
        request.Headers.UserAgent.ParseAdd("CohortGrains-Webhooks/1");
        try
        {
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var code = (int)response.StatusCode;
            if (response.IsSuccessStatusCode) return new SendOutcome.Accepted(null, code.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (response.StatusCode == HttpStatusCode.Gone) return new SendOutcome.Permanent("the endpoint answered 410 Gone", "410");
            return new SendOutcome.Transient($"HTTP {code}", response.Headers.RetryAfter?.Delta);
        }
        catch (HttpRequestException e) when (e.InnerException is BlockedAddressException || e.InnerException?.InnerException is BlockedAddressException)
        {
            return new SendOutcome.Permanent((e.InnerException as BlockedAddressException ?? e.InnerException!.InnerException!).Message, "blocked_address");
        }
        catch (HttpRequestException e)
        {
            return new SendOutcome.Transient(e.Message);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new SendOutcome.Transient("timed out");
        }
    }

    /// <summary>
    /// Connects only to addresses the policy allows, checked on the addresses actually dialled (so DNS rebinding cannot
    /// slip a private address past a check made earlier), and never follows redirects (one could point inside).
    /// </summary>
    public static SocketsHttpHandler CreateHandler(WebhookOptions options) => new()
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = async (context, ct) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
            var allowed = addresses.Where(a => options.AllowPrivateNetworks || EndpointAddresses.IsPublic(a)).ToArray();
            if (allowed.Length == 0) throw new BlockedAddressException(host);
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
