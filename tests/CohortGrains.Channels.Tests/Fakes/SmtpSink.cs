using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace CohortGrains.Channels.Tests.Fakes;

/// <summary>A message as the SMTP server received it, parsed by Python's email package (MIME decoding included).</summary>
public sealed record ReceivedEmail(string MailFrom, IReadOnlyList<string> RcptTos, string Subject, IReadOnlyDictionary<string, string> Headers, string? Text, string? Html);

/// <summary>
/// A real SMTP server on loopback: aiosmtpd (Debian's python3-aiosmtpd, run by Debian's /usr/bin/python3) with a handler
/// that writes every message it accepts as .eml plus a parsed .json before answering 250, so a message is on disk by the
/// time the client's send returns. Recipients starting with "tempfail" get 451 and "reject" 550 at RCPT, so the
/// channel's handling of real SMTP replies can be checked. Missing aiosmtpd fails the test with a message; never skipped.
/// </summary>
public sealed class SmtpSink : IDisposable
{
    public const string Python = "/usr/bin/python3";

    private const string Script = """
        import sys, os, json, email, itertools
        from email import policy
        from aiosmtpd.controller import Controller
        out, port = sys.argv[1], int(sys.argv[2])
        counter = itertools.count(1)
        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                local = address.split('@')[0].lower()
                if local.startswith('tempfail'):
                    return '451 4.3.0 Mailbox temporarily unavailable, try again later'
                if local.startswith('reject'):
                    return '550 5.1.1 No such user here'
                envelope.rcpt_tos.append(address)
                return '250 OK'
            async def handle_DATA(self, server, session, envelope):
                raw = envelope.original_content or envelope.content
                msg = email.message_from_bytes(raw, policy=policy.default)
                def body(kind):
                    part = msg.get_body(preferencelist=(kind,))
                    return part.get_content() if part is not None else None
                n = next(counter)
                data = {"mailFrom": envelope.mail_from, "rcptTos": envelope.rcpt_tos, "subject": str(msg["subject"] or ""),
                        "headers": {k: str(v) for k, v in msg.items()}, "text": body("plain"), "html": body("html")}
                with open(os.path.join(out, "%05d.eml" % n), "wb") as f:
                    f.write(raw)
                tmp = os.path.join(out, "%05d.json.tmp" % n)
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump(data, f)
                os.rename(tmp, tmp[:-4])
                return '250 2.0.0 OK: queued as %05d' % n
        controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        controller.start()
        print("ready", flush=True)
        try:
            sys.stdin.read()
        finally:
            controller.stop()
        """;

    private readonly Process _process;

    public int Port { get; }
    public string Directory { get; }

    private SmtpSink(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    public static SmtpSink Start()
    {
        if (!File.Exists(Python))
            throw new InvalidOperationException($"{Python} is missing: the SMTP tests need Debian's python3 with python3-aiosmtpd (./test.sh installs it).");
        var directory = System.IO.Directory.CreateTempSubdirectory("cohortgrains-smtp-").FullName;
        var port = FreePort();
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-c", Script, directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}");
        var ready = process.StandardOutput.ReadLineAsync();
        // Starting Python is real work outside our clock: wait for its "ready", bounded.
        if (!ready.Wait(TimeSpan.FromSeconds(30)) || ready.Result != "ready")
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            var error = process.StandardError.ReadToEnd();
            throw new InvalidOperationException(
                $"The SMTP test server (aiosmtpd) did not start: {error.Trim()}. Install Debian's python3-aiosmtpd (./test.sh does) — SMTP tests never skip.");
        }
        return new SmtpSink(process, port, directory);
    }

    /// <summary>Every message received so far, oldest first.</summary>
    public IReadOnlyList<ReceivedEmail> Messages() =>
        System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal)
            .Select(f => JsonSerializer.Deserialize<ReceivedEmail>(File.ReadAllText(f), new JsonSerializerOptions(JsonSerializerDefaults.Web))!)
            .ToList();

    public ReceivedEmail Single(string to) => Assert.Single(Messages(), m => m.RcptTos.Contains(to, StringComparer.OrdinalIgnoreCase));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5))) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
