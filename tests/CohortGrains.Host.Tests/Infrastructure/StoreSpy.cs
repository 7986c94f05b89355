using System.Collections.Concurrent;
using System.Reflection;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>Wraps the host's real store: counts calls by method name and can make chosen methods throw.</summary>
public class StoreSpy : DispatchProxy
{
    private IGrainStore _inner = null!;

    public ConcurrentDictionary<string, int> Calls { get; } = new();

    /// <summary>Method names that throw (as an unreachable database would) while listed.</summary>
    public ConcurrentDictionary<string, bool> Failing { get; } = new();

    public int CallsTo(string method) => Calls.GetValueOrDefault(method);

    /// <summary>Replaces the host's IGrainStore registration with a spy around the store it would have created. Call before the host starts.</summary>
    public static void Install(TestHost host) =>
        host.ServiceOverrides.Add(services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IGrainStore));
            services.Remove(original);
            services.AddSingleton(sp =>
            {
                var proxy = Create<IGrainStore, StoreSpy>();
                ((StoreSpy)(object)proxy)._inner = (IGrainStore)original.ImplementationFactory!(sp);
                return proxy;
            });
        });

    /// <summary>The spy of a host on which <see cref="Install"/> was called.</summary>
    public static StoreSpy Of(TestHost host) => (StoreSpy)(object)host.Store;

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        Calls.AddOrUpdate(targetMethod.Name, 1, (_, n) => n + 1);
        if (Failing.ContainsKey(targetMethod.Name)) throw new InvalidOperationException($"store unreachable (test fault in {targetMethod.Name})");
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
