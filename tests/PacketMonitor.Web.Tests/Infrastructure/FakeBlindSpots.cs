using PacketMonitor.Core.BlindSpots;

namespace PacketMonitor.Web.Tests.Infrastructure;

/// <summary>Device and softnet counters the test sets (the real sampler is tested against the kernel elsewhere).</summary>
public sealed class FakeBlindSpots : IBlindSpotSampler
{
    private readonly Lock _gate = new();
    private List<InterfaceCounters> _devices = [];
    private List<SoftnetCounters> _softnet = [new(0, 100, 0, 0, 0), new(1, 100, 0, 0, 0)];
    private List<string> _problems = [];

    public string Coverage => "the test's devices";

    public void SetDevices(params InterfaceCounters[] devices)
    {
        lock (_gate)
            _devices = [.. devices];
    }

    public void SetSoftnet(params SoftnetCounters[] cpus)
    {
        lock (_gate)
            _softnet = [.. cpus];
    }

    public void SetProblems(params string[] problems)
    {
        lock (_gate)
            _problems = [.. problems];
    }

    public BlindSpotSample Sample()
    {
        lock (_gate)
            return new BlindSpotSample(DateTimeOffset.UtcNow, [.. _devices], [.. _softnet], [.. _problems]);
    }

    public static InterfaceCounters Device(string name, int ifindex, uint netns, string netnsName = "",
        ulong rxDropped = 0, ulong txDropped = 0, ulong rxMissed = 0, ulong rxFifo = 0) =>
        new(netns, netnsName, ifindex, name, new DeviceCounters(rxDropped, txDropped, rxMissed, rxFifo, 0, 0, 0));
}
