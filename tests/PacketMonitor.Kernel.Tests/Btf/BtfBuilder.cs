using System.Buffers.Binary;
using System.Text;
using PacketMonitor.Kernel.Btf;

namespace PacketMonitor.Kernel.Tests.Btf;

/// <summary>
/// Writes synthetic BTF blobs for parser fixtures. Each Add method returns the new type's id.
/// A builder made with a base builder writes split BTF (ids and string offsets continue from the base).
/// </summary>
internal sealed class BtfBuilder
{
    private readonly List<byte> _types = [];
    private readonly List<byte> _strings = [];
    private readonly Dictionary<string, uint> _offsets = [];
    private readonly uint _stringBase;

    public BtfBuilder(BtfBuilder? baseBtf = null)
    {
        NextId = baseBtf?.NextId ?? 1;
        _stringBase = baseBtf is null ? 0 : baseBtf._stringBase + (uint)baseBtf._strings.Count;
        if (baseBtf is null)
            _strings.Add(0); // base BTF: offset 0 is the empty string
    }

    private BtfBuilder(int nextId, uint stringBase)
    {
        NextId = nextId;
        _stringBase = stringBase;
    }

    /// <summary>A builder of split BTF on top of a real base blob (a module's BTF on the running kernel's vmlinux).</summary>
    public static BtfBuilder SplitOn(ReadOnlySpan<byte> baseBlob, BtfReader parsedBase) =>
        new(parsedBase.LastTypeId + 1, BinaryPrimitives.ReadUInt32LittleEndian(baseBlob[20..])); // header: str_len

    public int NextId { get; private set; }

    public int Int(string name, int size, bool signed = false) =>
        Add(name, BtfKind.Int, 0, false, (uint)size, W((signed ? 1u : 0u) << 24 | (uint)size * 8));

    public int Ptr(int type) => Add("", BtfKind.Ptr, 0, false, (uint)type);

    public int Array(int elem, int index, uint count) => Add("", BtfKind.Array, 0, false, 0, W((uint)elem), W((uint)index), W(count));

    public int Struct(string name, int size, params (string Name, int Type, int BitOffset)[] members) =>
        Add(name, BtfKind.Struct, members.Length, false, (uint)size, members.SelectMany(m => new[] { W(Str(m.Name)), W((uint)m.Type), W((uint)m.BitOffset) }).ToArray());

    public int Union(string name, int size, params (string Name, int Type, int BitOffset)[] members) =>
        Add(name, BtfKind.Union, members.Length, false, (uint)size, members.SelectMany(m => new[] { W(Str(m.Name)), W((uint)m.Type), W((uint)m.BitOffset) }).ToArray());

    /// <summary>A struct with kind_flag set: each member's offset word packs bitfield_size &lt;&lt; 24 | bit_offset.</summary>
    public int BitfieldStruct(string name, int size, params (string Name, int Type, int BitOffset, int Bits)[] members) =>
        Add(name, BtfKind.Struct, members.Length, true, (uint)size,
            members.SelectMany(m => new[] { W(Str(m.Name)), W((uint)m.Type), W((uint)m.Bits << 24 | (uint)m.BitOffset) }).ToArray());

    public int Enum(string name, int size, bool signed, params (string Name, long Value)[] values) =>
        Add(name, BtfKind.Enum, values.Length, signed, (uint)size, values.SelectMany(v => new[] { W(Str(v.Name)), W((uint)v.Value) }).ToArray());

    public int Enum64(string name, bool signed, params (string Name, ulong Value)[] values) =>
        Add(name, BtfKind.Enum64, values.Length, signed, 8,
            values.SelectMany(v => new[] { W(Str(v.Name)), W((uint)v.Value), W((uint)(v.Value >> 32)) }).ToArray());

    public int Fwd(string name, bool union = false) => Add(name, BtfKind.Fwd, 0, union, 0);
    public int Typedef(string name, int type) => Add(name, BtfKind.Typedef, 0, false, (uint)type);
    public int Volatile(int type) => Add("", BtfKind.Volatile, 0, false, (uint)type);
    public int Const(int type) => Add("", BtfKind.Const, 0, false, (uint)type);
    public int Restrict(int type) => Add("", BtfKind.Restrict, 0, false, (uint)type);
    public int Func(string name, int proto) => Add(name, BtfKind.Func, 1, false, (uint)proto);

    public int FuncProto(int returns, params (string Name, int Type)[] parameters) =>
        Add("", BtfKind.FuncProto, parameters.Length, false, (uint)returns, parameters.SelectMany(p => new[] { W(Str(p.Name)), W((uint)p.Type) }).ToArray());

    public int Var(string name, int type) => Add(name, BtfKind.Var, 0, false, (uint)type, W(1));

    public int Datasec(string name, int size, params (int Type, int Offset, int Size)[] vars) =>
        Add(name, BtfKind.Datasec, vars.Length, false, (uint)size, vars.SelectMany(v => new[] { W((uint)v.Type), W((uint)v.Offset), W((uint)v.Size) }).ToArray());

    public int Float(string name, int size) => Add(name, BtfKind.Float, 0, false, (uint)size);
    public int DeclTag(string name, int type, int component = -1) => Add(name, BtfKind.DeclTag, 0, false, (uint)type, W((uint)component));
    public int TypeTag(string name, int type) => Add(name, BtfKind.TypeTag, 0, false, (uint)type);

    /// <summary>Appends a raw record (for malformed fixtures): the common 12 bytes plus extra words.</summary>
    public int Raw(uint nameOff, uint info, uint sizeOrType, params uint[] extra)
    {
        Word(nameOff);
        Word(info);
        Word(sizeOrType);
        foreach (var w in extra)
            Word(w);
        return NextId++;
    }

    /// <summary>The blob: 24-byte header, type section, string section.</summary>
    public byte[] Build()
    {
        var blob = new byte[24 + _types.Count + _strings.Count];
        BinaryPrimitives.WriteUInt16LittleEndian(blob, 0xEB9F);
        blob[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(16), (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(20), (uint)_strings.Count);
        _types.CopyTo(blob, 24);
        _strings.CopyTo(blob, 24 + _types.Count);
        return blob;
    }

    /// <summary>Offset of a string in this blob's string table (interned; "" is 0).</summary>
    public uint Str(string s)
    {
        if (s.Length == 0)
            return 0;
        if (!_offsets.TryGetValue(s, out var off))
        {
            off = _stringBase + (uint)_strings.Count;
            _strings.AddRange(Encoding.UTF8.GetBytes(s));
            _strings.Add(0);
            _offsets[s] = off;
        }
        return off;
    }

    private int Add(string name, BtfKind kind, int vlen, bool kindFlag, uint sizeOrType, params uint[] extra) =>
        Raw(Str(name), (kindFlag ? 1u << 31 : 0) | (uint)kind << 24 | (uint)vlen, sizeOrType, extra);

    private static uint W(uint value) => value;

    private void Word(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _types.AddRange(b);
    }
}
