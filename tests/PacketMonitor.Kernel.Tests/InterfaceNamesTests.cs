using System.Diagnostics;
using PacketMonitor.Kernel.Tests.Infrastructure;

namespace PacketMonitor.Kernel.Tests;

/// <summary>Interface names looked up in the namespace the kernel reported, against what `ip` shows there.</summary>
public sealed class InterfaceNamesTests
{
    private static uint IndexOf(NetworkNamespace ns, string name) =>
        uint.Parse(ns.Ip("-o", "link", "show", "dev", name).Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Resolve_InterfaceOfANamedNamespace_IsItsNameThere()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        string name = "pmi" + Guid.NewGuid().ToString("N")[..8];
        ns.Ip("link", "add", name, "type", "veth", "peer", "name", name + "p"); // this kernel has no dummy driver
        uint index = IndexOf(ns, name);

        var names = new InterfaceNames();

        Assert.Equal(name, names.Resolve(index, ns.Inode));
        Assert.Equal("lo", names.Resolve(1, ns.Inode));
        Assert.Null(names.Resolve(index + 1000, ns.Inode));
    }

    [Fact]
    public void Resolve_InterfaceAddedAfterTheFirstLookup_IsFoundOnARead()
    {
        KernelTest.RequireRoot();
        using var ns = new NetworkNamespace();
        var names = new InterfaceNames();
        Assert.Equal("lo", names.Resolve(1, ns.Inode));
        string name = "pmj" + Guid.NewGuid().ToString("N")[..8];
        ns.Ip("link", "add", name, "type", "veth", "peer", "name", name + "p");
        uint index = IndexOf(ns, name);

        Thread.Sleep(1100); // unknown indexes are looked up again at most once a second
        Assert.Equal(name, names.Resolve(index, ns.Inode));
    }

    [Fact]
    public void Resolve_NamespaceOnlyAProcessHolds_IsEnteredThroughProc()
    {
        KernelTest.RequireRoot();
        using var holder = Process.Start(new ProcessStartInfo("unshare", "--net sleep 30") { UseShellExecute = false })!;
        try
        {
            uint? inode = null;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (DateTime.UtcNow < deadline && (inode is null || inode == NetworkNamespaces.Current()))
            {
                inode = holder.HasExited ? null : NetworkNamespaces.Inode($"/proc/{FindChild(holder.Id)}/ns/net");
                Thread.Sleep(20);
            }
            Assert.NotNull(inode);
            Assert.NotEqual(NetworkNamespaces.Current(), inode);

            Assert.Equal("lo", new InterfaceNames().Resolve(1, inode.Value));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
    }

    [Fact]
    public void Resolve_OwnNamespace_NamesLoopback_AndAGoneNamespaceGivesNull()
    {
        KernelTest.RequireRoot();
        uint gone;
        using (var ns = new NetworkNamespace())
            gone = ns.Inode;

        var names = new InterfaceNames();

        Assert.Equal("lo", names.Resolve(1, NetworkNamespaces.Current()!.Value));
        Assert.Null(names.Resolve(1, gone));
    }

    /// <summary>unshare execs sleep in place (same pid) unless it forks: take the pid itself, or its only child.</summary>
    private static int FindChild(int pid)
    {
        string children = $"/proc/{pid}/task/{pid}/children";
        string text = File.Exists(children) ? File.ReadAllText(children).Trim() : "";
        return text.Length > 0 ? int.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) : pid;
    }
}
