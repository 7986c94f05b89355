using Microsoft.Playwright;

namespace CohortGrains.Web.Tests.Infrastructure;

/// <summary>
/// One headless Chromium for every browser test: Debian's /usr/bin/chromium (or COHORTGRAINS_TEST_CHROMIUM), driven by
/// the Playwright node driver that ships inside the NuGet package. Nothing is ever downloaded; a missing browser fails
/// every browser test with a message saying what to install, it never skips them.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("COHORTGRAINS_TEST_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";

    /// <summary>Where screenshots go: test.sh's output directory, else a temporary one.</summary>
    public static string OutputDirectory { get; } = Directory.CreateDirectory(Path.Combine(
        Environment.GetEnvironmentVariable("COHORTGRAINS_TEST_OUTPUT") is { Length: > 0 } output ? output : Path.Combine(Path.GetTempPath(), "cohortgrains-test-output"),
        "screenshots")).FullName;

    private IPlaywright? _playwright;

    public IBrowser Chromium { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException(
                $"Chromium is not installed at {ChromiumPath}. The browser tests drive Debian's Chromium and never download one: " +
                "install it with `apt-get install chromium` (./test.sh does), or point COHORTGRAINS_TEST_CHROMIUM at a Chromium binary.");
        _playwright = await Playwright.CreateAsync();
        Chromium = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Chromium is not null) await Chromium.DisposeAsync();
        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}

/// <summary>One person's browser (its own cookies), recording every console error and uncaught page error.</summary>
public sealed class BrowserUser : IAsyncDisposable
{
    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 900 };
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    private BrowserUser(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error") _errors.Add($"console error on {page.Url}: {message.Text}");
        };
        page.PageError += (_, error) => _errors.Add($"page error on {page.Url}: {error}");
        // A stylesheet or script the CSP or a 404 blocked would leave the page half-styled without a console line in some cases.
        page.RequestFailed += (_, request) => _errors.Add($"request failed on {page.Url}: {request.Url} {request.Failure}");
    }

    public IPage Page { get; }

    public IReadOnlyList<string> Errors => _errors;

    public static async Task<BrowserUser> OpenAsync(BrowserFixture browser, ViewportSize? viewport = null)
    {
        var context = await browser.Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = viewport ?? Desktop, Locale = "en-US" });
        context.SetDefaultTimeout(15_000);
        return new BrowserUser(context, await context.NewPageAsync());
    }

    public async Task<string> ScreenshotAsync(string name)
    {
        var path = Path.Combine(BrowserFixture.OutputDirectory, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public void AssertNoErrors() => Assert.True(_errors.Count == 0, "The browser reported errors:\n" + string.Join("\n", _errors));

    /// <summary>
    /// Basic accessibility facts of the page as rendered: a language, one main landmark, an h1, and an accessible name for
    /// every form control and button.
    /// </summary>
    public async Task AssertAccessibleAsync()
    {
        var problems = await Page.EvaluateAsync<string[]>("""
            () => {
              const out = [];
              if (!document.documentElement.lang) out.push('no lang on <html>');
              if (document.querySelectorAll('main').length !== 1) out.push('not exactly one <main>');
              if (!document.querySelector('h1')) out.push('no <h1>');
              for (const el of document.querySelectorAll('input:not([type=hidden]), textarea, select, button')) {
                const id = el.id;
                const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                  || (id && document.querySelector(`label[for="${id}"]`)) || el.closest('label')
                  || (el.tagName === 'BUTTON' && el.textContent.trim().length > 0);
                if (!labelled) out.push(`no accessible name: <${el.tagName.toLowerCase()} name="${el.getAttribute('name')}">`);
              }
              return out;
            }
            """);
        Assert.True(problems.Length == 0, $"Accessibility problems on {Page.Url}:\n" + string.Join("\n", problems));
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
