namespace PacketMonitor.Kernel.Abi;

/// <summary>Layouts of the map keys and values in bpf/drop_event.h (checked against BTF in a test).</summary>
internal static class MapLayouts
{
    // struct counter_key
    public const int CounterKeySize = 24;
    public const int CounterKeyReason = 0;
    public const int CounterKeyIfindex = 4;
    public const int CounterKeyNetns = 8;
    public const int CounterKeyIpProto = 12;
    public const int CounterKeyLocation = 16;

    // struct counter_value
    public const int CounterValueSize = 16;

    // struct filter_config
    public const int FilterConfigSize = 64;
    public const int FilterFlags = 0;
    public const int FilterNetns = 4;
    public const int FilterPort = 8;
    public const int FilterProtocol = 10;
    public const int FilterHostFamily = 11;
    public const int FilterHostAddr = 16;
    public const int FilterHostMask = 32;
    public const int FilterIfname = 48;

    // struct load_config (.rodata)
    public const int LoadConfigSize = 8;
    public const int LoadSnapLen = 0;
    public const int LoadWakeupEvents = 4;

    // enum loss_slot
    public const uint LossRingbufFull = 0;
    public const uint LossFiltered = 1;

    // filter_config.flags
    public const uint EmitEvents = 1u << 0;
    public const uint FilterProtocolFlag = 1u << 1;
    public const uint FilterPortFlag = 1u << 2;
    public const uint FilterHostFlag = 1u << 3;
    public const uint FilterIfnameFlag = 1u << 4;
    public const uint FilterNetnsFlag = 1u << 5;
    public const uint FilterReasonInclude = 1u << 6;
    public const uint FilterReasonExclude = 1u << 7;
    public const uint FilterStacksAll = 1u << 8;
    public const uint FilterStacksListed = 1u << 9;

    public static readonly (string Struct, string Field, int Offset)[] Checked =
    [
        ("counter_key", "reason", CounterKeyReason), ("counter_key", "ifindex", CounterKeyIfindex),
        ("counter_key", "netns", CounterKeyNetns), ("counter_key", "ip_proto", CounterKeyIpProto),
        ("counter_key", "location", CounterKeyLocation),
        ("filter_config", "flags", FilterFlags), ("filter_config", "netns", FilterNetns),
        ("filter_config", "port", FilterPort), ("filter_config", "protocol", FilterProtocol),
        ("filter_config", "host_family", FilterHostFamily), ("filter_config", "host_addr", FilterHostAddr),
        ("filter_config", "host_mask", FilterHostMask), ("filter_config", "ifname", FilterIfname),
        ("load_config", "snap_len", LoadSnapLen), ("load_config", "wakeup_events", LoadWakeupEvents),
    ];
}
