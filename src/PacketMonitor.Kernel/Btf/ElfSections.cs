using System.Buffers.Binary;
using System.Text;

namespace PacketMonitor.Kernel.Btf;

/// <summary>Reads a section by name from an ELF64 little-endian image (enough to pull .BTF out of a BPF object).</summary>
public static class ElfSections
{
    private const int ElfHeaderLength = 64;
    private const int SectionHeaderLength = 64;
    private const uint SectionNoBits = 8; // SHT_NOBITS: occupies no file bytes (.bss)

    /// <summary>A copy of the named section's bytes, or null when the image has no such section.</summary>
    /// <exception cref="BtfFormatException">The image is not a well-formed ELF64 little-endian file.</exception>
    public static byte[]? Read(ReadOnlySpan<byte> image, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (image.Length < ElfHeaderLength || !image[..4].SequenceEqual("\u007FELF"u8))
            throw new BtfFormatException("not an ELF file");
        if (image[4] != 2 || image[5] != 1)
            throw new BtfFormatException("only ELF64 little-endian files are supported");

        var shoff = U64(image, 0x28);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3A..]);
        long shnum = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3C..]);
        long shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3E..]);
        if (shoff == 0)
            return null; // no section headers at all
        if (shentsize != SectionHeaderLength || shoff > (ulong)image.Length - SectionHeaderLength)
            throw new BtfFormatException("ELF section header table is out of range");

        // Extended numbering: counts that do not fit 16 bits live in section header 0.
        var first = image[(int)shoff..];
        if (shnum == 0)
            shnum = (long)U64(first, 0x20);
        if (shstrndx == 0xFFFF)
            shstrndx = BinaryPrimitives.ReadUInt32LittleEndian(first[0x28..]);
        if (shnum > (image.Length - (long)shoff) / SectionHeaderLength)
            throw new BtfFormatException($"ELF declares {shnum} sections, more than the file holds");
        if (shstrndx >= shnum)
            throw new BtfFormatException("ELF section name table index is out of range");

        var names = Contents(image, Header(image, shoff, shstrndx));
        var wanted = Encoding.UTF8.GetBytes(name);
        for (long i = 0; i < shnum; i++)
        {
            var header = Header(image, shoff, i);
            var nameOff = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (nameOff >= (uint)names.Length)
                throw new BtfFormatException($"ELF section {i} has a name offset outside the name table");
            var candidate = names[(int)nameOff..];
            var nul = candidate.IndexOf((byte)0);
            if (nul < 0)
                throw new BtfFormatException("ELF section name table is not NUL-terminated");
            if (candidate[..nul].SequenceEqual(wanted))
                return Contents(image, header).ToArray();
        }
        return null;
    }

    private static ReadOnlySpan<byte> Header(ReadOnlySpan<byte> image, ulong shoff, long index) =>
        image.Slice((int)shoff + (int)index * SectionHeaderLength, SectionHeaderLength);

    private static ReadOnlySpan<byte> Contents(ReadOnlySpan<byte> image, ReadOnlySpan<byte> header)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == SectionNoBits)
            return [];
        var offset = U64(header, 0x18);
        var size = U64(header, 0x20);
        if (offset > (ulong)image.Length || size > (ulong)image.Length - offset)
            throw new BtfFormatException("ELF section lies outside the file");
        return image.Slice((int)offset, (int)size);
    }

    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
}
