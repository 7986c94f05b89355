using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace CohortGrains.Web.Tests.Infrastructure;

/// <summary>What people do in the pages more than once.</summary>
public static class Steps
{
    public static async Task SignInAsync(this BrowserUser user, WebHost host, string key, string expectedUrl = "/coach")
    {
        await user.Page.GotoAsync(host.BaseUrl + "/");
        await user.Page.GetByLabel("Your API key").FillAsync(key);
        await user.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(user.Page).ToHaveURLAsync(host.BaseUrl + expectedUrl);
    }
}
