using PacketMonitor.Kernel;

namespace PacketMonitor.Kernel.Tests.Infrastructure;

/// <summary>
/// Gate for tests that need root and a real kernel: they skip on a developer machine without
/// privileges, but under CI=true a missing privilege or feature fails the test instead.
/// </summary>
internal static class KernelTest
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void RequireRoot()
    {
        if (Environment.UserName != "root" || Privileges.EffectiveCapabilities() is not ulong caps || !Privileges.CanTrace(caps))
            Unavailable("needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)");
        if (!File.Exists("/sys/kernel/btf/vmlinux"))
            Unavailable("needs kernel BTF (/sys/kernel/btf/vmlinux)");
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip"))
            Unavailable("needs iproute2 (ip)");
    }

    public static void Unavailable(string why)
    {
        if (InCi)
            Assert.Fail($"CI=true but this kernel test cannot run: {why}");
        Assert.Skip(why);
    }

    /// <summary>Polls until the condition holds or the timeout passes; returns whether it held.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
                return true;
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        return condition();
    }
}
