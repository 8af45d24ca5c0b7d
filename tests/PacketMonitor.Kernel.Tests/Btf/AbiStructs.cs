using PacketMonitor.Kernel.Abi;
using PacketMonitor.Kernel.Btf;

namespace PacketMonitor.Kernel.Tests.Btf;

/// <summary>
/// The BTF of the BPF object embedded in PacketMonitor.Kernel, for ABI tests:
/// <c>AbiStructs.Of("counter_key").Member("netns")!.Value.ByteOffset</c>.
/// </summary>
internal static class AbiStructs
{
    public const string ResourceName = "packet_monitor.bpf.o";

    private static readonly Lazy<byte[]> ObjectBytes = new(DropCapture.EmbeddedObject);

    private static readonly Lazy<BtfReader> ObjectBtf = new(() =>
        BtfReader.Parse(ElfSections.Read(ObjectBytes.Value, ".BTF") ?? throw new InvalidOperationException($"{ResourceName} has no .BTF section")));

    /// <summary>The compiled BPF object (ELF) as embedded.</summary>
    public static byte[] Object => ObjectBytes.Value;

    /// <summary>The object's .BTF section, parsed.</summary>
    public static BtfReader Btf => ObjectBtf.Value;

    /// <summary>A struct of the object's BTF by name; throws if the object has none.</summary>
    public static BtfStruct Of(string name) =>
        Btf.FindStruct(name) ?? throw new InvalidOperationException($"struct {name} is not in the BTF of {ResourceName}");

    /// <summary>Members as (name, byte offset, byte size; -1 when not computable).</summary>
    public static IEnumerable<(string Name, int Offset, int Size)> Layout(string name) =>
        Of(name).Members.Select(m => (m.Name, m.ByteOffset, m.ByteSize ?? -1));
}
