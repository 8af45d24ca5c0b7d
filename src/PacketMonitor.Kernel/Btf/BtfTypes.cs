using System.Diagnostics.CodeAnalysis;

namespace PacketMonitor.Kernel.Btf;

/// <summary>Malformed BTF or ELF input. The only exception the parsers in this namespace throw for bad bytes.</summary>
public sealed class BtfFormatException : FormatException
{
    public BtfFormatException() { }
    public BtfFormatException(string message) : base(message) { }
    public BtfFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>BTF type kinds (BTF_KIND_* in include/uapi/linux/btf.h).</summary>
[SuppressMessage("Naming", "CA1720", Justification = "The names of the BTF kinds.")]
public enum BtfKind : byte
{
    Void = 0, Int = 1, Ptr = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Fwd = 7, Typedef = 8,
    Volatile = 9, Const = 10, Restrict = 11, Func = 12, FuncProto = 13, Var = 14, Datasec = 15,
    Float = 16, DeclTag = 17, TypeTag = 18, Enum64 = 19,
}

/// <summary>
/// The common header of one type. <paramref name="SizeOrType"/> is a byte size for
/// INT/STRUCT/UNION/ENUM/ENUM64/FLOAT/DATASEC and a referenced type id for the other kinds.
/// </summary>
public readonly record struct BtfType(int Id, BtfKind Kind, string Name, uint SizeOrType, int Vlen, bool KindFlag);

/// <summary>
/// One enumerator. <see cref="Value"/> is sign- or zero-extended according to the enum's signedness;
/// read <see cref="UnsignedValue"/> for unsigned 64-bit values above <see cref="long.MaxValue"/>.
/// </summary>
public readonly record struct BtfEnumValue(string Name, long Value)
{
    public ulong UnsignedValue => unchecked((ulong)Value);
}

/// <summary>An ENUM or ENUM64 type.</summary>
[SuppressMessage("Naming", "CA1711", Justification = "A C enum described by BTF, not a .NET enum.")]
public sealed record BtfEnum(int Id, string Name, int Size, bool IsSigned, IReadOnlyList<BtfEnumValue> Values);

/// <summary>
/// A struct or union member. <see cref="BitfieldSize"/> is 0 unless it is a bitfield;
/// <see cref="ByteSize"/> is null when it cannot be computed (bitfields, FWD, FUNC, broken chains).
/// </summary>
public readonly record struct BtfMember(string Name, int TypeId, int BitOffset, int BitfieldSize, int? ByteSize)
{
    public int ByteOffset => BitOffset / 8;
}

/// <summary>A STRUCT or UNION type.</summary>
public sealed record BtfStruct(int Id, string Name, bool IsUnion, int Size, IReadOnlyList<BtfMember> Members)
{
    /// <summary>The first member with this name, or null (anonymous nested members have an empty name).</summary>
    public BtfMember? Member(string name)
    {
        foreach (var m in Members)
        {
            if (m.Name == name)
                return m;
        }
        return null;
    }
}
