using System.Buffers.Binary;
using System.Text;

namespace PacketMonitor.Kernel.Btf;

/// <summary>
/// A parsed BTF blob (/sys/kernel/btf/vmlinux, a module's split BTF, or the .BTF section of a BPF object).
/// Every length, offset, name and type reference is validated in <see cref="Parse"/>, so nothing read
/// afterwards can fail; enum and struct details are decoded on demand from a private copy of the bytes.
/// </summary>
public sealed class BtfReader
{
    private const ushort Magic = 0xEB9F;
    private const int MinHeaderLength = 24;
    private const int RecordLength = 12; // name_off, info, size/type
    private const int PointerSize = 8;   // the kernels and BPF objects we read are 64-bit

    private readonly byte[] _blob;
    private readonly int _strStart;
    private readonly int _strLength;
    private readonly int[] _records; // blob offset of each own type record, index = id - FirstTypeId
    private readonly Dictionary<string, int> _enumsByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _structsByName = new(StringComparer.Ordinal);

    private BtfReader(byte[] blob, BtfReader? baseBtf, int strStart, int strLength, int[] records)
    {
        _blob = blob;
        Base = baseBtf;
        _strStart = strStart;
        _strLength = strLength;
        _records = records;
        FirstTypeId = baseBtf is null ? 1 : baseBtf.LastTypeId + 1;
        StringBase = baseBtf?.StringEnd ?? 0;
    }

    /// <summary>The base BTF this split BTF continues (module BTF continues vmlinux), or null.</summary>
    public BtfReader? Base { get; }

    /// <summary>Id of this blob's first own type: 1 for base BTF, base's last id + 1 for split BTF.</summary>
    public int FirstTypeId { get; }

    /// <summary>Id of this blob's last own type (FirstTypeId - 1 when it has none).</summary>
    public int LastTypeId => FirstTypeId + _records.Length - 1;

    /// <summary>Number of types defined in this blob (not counting the base).</summary>
    public int TypeCount => _records.Length;

    /// <summary>String offsets at or above this value are in this blob; lower ones are in the base.</summary>
    private int StringBase { get; }

    private int StringEnd => StringBase + _strLength;

    /// <summary>Parses a little-endian BTF blob; pass the vmlinux reader as <paramref name="baseBtf"/> for module BTF.</summary>
    /// <exception cref="BtfFormatException">The bytes are not valid BTF (the only exception thrown).</exception>
    public static BtfReader Parse(ReadOnlySpan<byte> blob, BtfReader? baseBtf = null)
    {
        if (blob.Length < MinHeaderLength)
            throw new BtfFormatException($"BTF blob of {blob.Length} bytes is shorter than its header");
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(blob);
        if (magic == 0x9FEB)
            throw new BtfFormatException("big-endian BTF is not supported");
        if (magic != Magic)
            throw new BtfFormatException($"bad BTF magic 0x{magic:x4}");
        if (blob[2] != 1)
            throw new BtfFormatException($"unsupported BTF version {blob[2]}");

        var hdrLen = U32(blob, 4);
        if (hdrLen < MinHeaderLength || hdrLen > (uint)blob.Length)
            throw new BtfFormatException($"BTF header length {hdrLen} is out of range");
        var (typeStart, typeLen) = Section(blob, hdrLen, U32(blob, 8), U32(blob, 12), "type");
        var (strStart, strLen) = Section(blob, hdrLen, U32(blob, 16), U32(blob, 20), "string");
        if (typeStart % 4 != 0 || typeLen % 4 != 0)
            throw new BtfFormatException("BTF type section is not 4-byte aligned");
        if (strLen > 0 && blob[strStart + strLen - 1] != 0)
            throw new BtfFormatException("BTF string section is not NUL-terminated");
        if (baseBtf is null && (strLen == 0 || blob[strStart] != 0))
            throw new BtfFormatException("BTF string section must start with an empty string");

        var copy = blob.ToArray();
        var reader = new BtfReader(copy, baseBtf, strStart, strLen, Walk(copy, typeStart, typeLen, baseBtf, strLen));
        reader.IndexNames();
        return reader;
    }

    /// <summary>The type with this id (0 is void); ids below <see cref="FirstTypeId"/> come from the base.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such id.</exception>
    public BtfType TypeAt(int id)
    {
        if (id == 0)
            return new BtfType(0, BtfKind.Void, "", 0, 0, false);
        if (id < FirstTypeId && Base is not null && id > 0)
            return Base.TypeAt(id);
        if (id < FirstTypeId || id > LastTypeId)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"BTF has types {FirstTypeId}..{LastTypeId}");
        var at = _records[id - FirstTypeId];
        var info = U32(_blob, at + 4);
        return new BtfType(id, (BtfKind)((info >> 24) & 0x1f), GetString(U32(_blob, at)), U32(_blob, at + 8),
            (int)(info & 0xffff), (info & 0x8000_0000) != 0);
    }

    /// <summary>This blob's own types, in id order.</summary>
    public IEnumerable<BtfType> Types
    {
        get
        {
            for (var id = FirstTypeId; id <= LastTypeId; id++)
                yield return TypeAt(id);
        }
    }

    /// <summary>This blob's own ENUM and ENUM64 types (not the base's), in id order.</summary>
    public IEnumerable<BtfEnum> Enums
    {
        get
        {
            for (var id = FirstTypeId; id <= LastTypeId; id++)
            {
                if (KindAt(id) is BtfKind.Enum or BtfKind.Enum64)
                    yield return DecodeEnum(id);
            }
        }
    }

    /// <summary>The first named enum (ENUM or ENUM64) with this name, here or in the base; null if none.</summary>
    public BtfEnum? FindEnum(string name) =>
        _enumsByName.TryGetValue(name, out var id) ? DecodeEnum(id) : Base?.FindEnum(name);

    /// <summary>The first struct or union with this name, here or in the base; null if none.</summary>
    public BtfStruct? FindStruct(string name) =>
        _structsByName.TryGetValue(name, out var id) ? DecodeStruct(id) : Base?.FindStruct(name);

    /// <summary>The struct or union with this id.</summary>
    /// <exception cref="ArgumentException">The id is not a struct or union.</exception>
    public BtfStruct GetStruct(int id) =>
        TypeAt(id).Kind is BtfKind.Struct or BtfKind.Union ? OwnerOf(id).DecodeStruct(id)
            : throw new ArgumentException($"BTF type {id} is not a struct or union", nameof(id));

    /// <summary>
    /// Byte size of a type: sized kinds, pointers (8), arrays (element size x count) and
    /// typedef/const/volatile/restrict/type_tag/var chains; null for void, FWD, FUNC, FUNC_PROTO and cycles.
    /// </summary>
    public int? SizeOf(int typeId)
    {
        long factor = 1;
        // Bounded walk: a garbage blob may contain reference cycles.
        for (var step = 0; step < 64; step++)
        {
            if (typeId <= 0 || typeId > LastTypeId)
                return null;
            var t = TypeAt(typeId);
            switch (t.Kind)
            {
                case BtfKind.Int or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64
                    or BtfKind.Float or BtfKind.Datasec:
                    return Scale(factor, t.SizeOrType);
                case BtfKind.Ptr:
                    return Scale(factor, PointerSize);
                case BtfKind.Array:
                    var (elem, count) = ArrayAt(typeId);
                    factor *= count;
                    if (factor > int.MaxValue)
                        return null;
                    typeId = elem;
                    break;
                case BtfKind.Typedef or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict
                    or BtfKind.TypeTag or BtfKind.Var:
                    typeId = (int)t.SizeOrType;
                    break;
                default:
                    return null;
            }
        }
        return null;

        static int? Scale(long factor, uint size) => factor * size <= int.MaxValue ? (int)(factor * size) : null;
    }

    /// <summary>Element type id and element count of an ARRAY type.</summary>
    public (int ElementType, uint Count) ArrayAt(int id)
    {
        var owner = OwnerOf(id);
        if (owner.KindAt(id) != BtfKind.Array)
            throw new ArgumentException($"BTF type {id} is not an array", nameof(id));
        var at = owner._records[id - owner.FirstTypeId] + RecordLength;
        return ((int)U32(owner._blob, at), U32(owner._blob, at + 8));
    }

    private BtfReader OwnerOf(int id) => id < FirstTypeId && Base is not null ? Base.OwnerOf(id) : this;

    private BtfKind KindAt(int id) => (BtfKind)((_blob[_records[id - FirstTypeId] + 7]) & 0x1f);

    private string GetString(uint offset)
    {
        if (offset < StringBase)
            return Base!.GetString(offset);
        var s = _blob.AsSpan(_strStart + (int)(offset - StringBase), _strLength - (int)(offset - StringBase));
        return Encoding.UTF8.GetString(s[..s.IndexOf((byte)0)]); // validated: the section ends in NUL
    }

    private BtfEnum DecodeEnum(int id)
    {
        var t = TypeAt(id);
        var at = _records[id - FirstTypeId] + RecordLength;
        var wide = t.Kind == BtfKind.Enum64;
        var values = new BtfEnumValue[t.Vlen];
        for (var i = 0; i < values.Length; i++, at += wide ? 12 : 8)
        {
            var lo = U32(_blob, at + 4);
            long value = wide ? (long)(((ulong)U32(_blob, at + 8) << 32) | lo)
                : t.KindFlag ? (int)lo : lo; // 32-bit: sign- or zero-extend per the signedness flag
            values[i] = new BtfEnumValue(GetString(U32(_blob, at)), value);
        }
        return new BtfEnum(id, t.Name, (int)t.SizeOrType, t.KindFlag, values);
    }

    private BtfStruct DecodeStruct(int id)
    {
        var t = TypeAt(id);
        var at = _records[id - FirstTypeId] + RecordLength;
        var members = new BtfMember[t.Vlen];
        for (var i = 0; i < members.Length; i++, at += 12)
        {
            var type = (int)U32(_blob, at + 4);
            var offset = U32(_blob, at + 8);
            // kind_flag: the offset word packs bitfield_size << 24 | bit_offset.
            var (bitOffset, bits) = t.KindFlag ? ((int)(offset & 0xffffff), (int)(offset >> 24)) : ((int)offset, 0);
            members[i] = new BtfMember(GetString(U32(_blob, at)), type, bitOffset, bits, bits == 0 ? SizeOf(type) : null);
        }
        return new BtfStruct(id, t.Name, t.Kind == BtfKind.Union, (int)t.SizeOrType, members);
    }

    private void IndexNames()
    {
        for (var id = FirstTypeId; id <= LastTypeId; id++)
        {
            var index = KindAt(id) switch
            {
                BtfKind.Enum or BtfKind.Enum64 => _enumsByName,
                BtfKind.Struct or BtfKind.Union => _structsByName,
                _ => null,
            };
            var nameOff = U32(_blob, _records[id - FirstTypeId]);
            if (index is not null && nameOff != 0)
                index.TryAdd(GetString(nameOff), id); // first definition wins
        }
    }

    /// <summary>Walks the type section once, checking every record against the blob; returns record offsets.</summary>
    private static int[] Walk(byte[] blob, int start, int length, BtfReader? baseBtf, int strLen)
    {
        var strEnd = (long)(baseBtf?.StringEnd ?? 0) + strLen;
        var firstId = baseBtf is null ? 1 : baseBtf.LastTypeId + 1;
        var records = new List<int>();
        var end = start + length;
        long maxRef = 0;
        var pos = start;
        while (pos < end)
        {
            if (end - pos < RecordLength)
                throw new BtfFormatException($"truncated BTF type record at offset {pos}");
            var info = U32(blob, pos + 4);
            var kind = (BtfKind)((info >> 24) & 0x1f);
            var vlen = (int)(info & 0xffff);
            var sizeOrType = U32(blob, pos + 8);
            var id = firstId + records.Count;
            CheckName(U32(blob, pos), strEnd, id);

            // Bytes that follow the common record, and the size of each repeated entry.
            var (extra, entry) = kind switch
            {
                BtfKind.Int or BtfKind.Var or BtfKind.DeclTag => (4, 0),
                BtfKind.Array => (12, 0),
                BtfKind.Struct or BtfKind.Union or BtfKind.Datasec or BtfKind.Enum64 => (vlen * 12, 12),
                BtfKind.Enum or BtfKind.FuncProto => (vlen * 8, 8),
                BtfKind.Ptr or BtfKind.Fwd or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const
                    or BtfKind.Restrict or BtfKind.Func or BtfKind.Float or BtfKind.TypeTag => (0, 0),
                _ => throw new BtfFormatException($"unknown BTF kind {(int)kind} for type {id}"),
            };
            var body = pos + RecordLength;
            if (end - body < extra)
                throw new BtfFormatException($"BTF type {id} ({kind}) runs past the type section");

            // sizeOrType is a type reference for these kinds.
            if (kind is BtfKind.Ptr or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                or BtfKind.Func or BtfKind.FuncProto or BtfKind.Var or BtfKind.DeclTag or BtfKind.TypeTag)
                maxRef = Math.Max(maxRef, sizeOrType);
            if (kind == BtfKind.Array)
                maxRef = Math.Max(maxRef, Math.Max(U32(blob, body), U32(blob, body + 4)));
            for (var e = body; entry > 0 && e < body + extra; e += entry)
            {
                switch (kind)
                {
                    case BtfKind.Struct or BtfKind.Union or BtfKind.FuncProto:
                        CheckName(U32(blob, e), strEnd, id);
                        maxRef = Math.Max(maxRef, U32(blob, e + 4));
                        break;
                    case BtfKind.Enum or BtfKind.Enum64:
                        CheckName(U32(blob, e), strEnd, id);
                        break;
                    case BtfKind.Datasec:
                        maxRef = Math.Max(maxRef, U32(blob, e));
                        break;
                }
            }
            records.Add(pos);
            pos = body + extra;
        }

        var lastId = firstId + records.Count - 1;
        if (maxRef > lastId)
            throw new BtfFormatException($"BTF refers to type {maxRef} but defines only up to {lastId}");
        return [.. records];
    }

    private static void CheckName(uint offset, long strEnd, int id)
    {
        if (offset >= strEnd && offset != 0)
            throw new BtfFormatException($"BTF type {id} has a name offset {offset} outside the string section");
    }

    private static (int Start, int Length) Section(ReadOnlySpan<byte> blob, uint hdrLen, uint off, uint len, string what)
    {
        var start = (long)hdrLen + off;
        if (start + len > blob.Length)
            throw new BtfFormatException($"BTF {what} section ({off}+{len}) lies outside the {blob.Length}-byte blob");
        return ((int)start, (int)len);
    }

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);
}
