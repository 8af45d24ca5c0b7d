using System.Buffers.Binary;
using CsCheck;
using PacketMonitor.Kernel.Btf;

namespace PacketMonitor.Kernel.Tests.Btf;

public sealed class ElfSectionsTests
{
    [Fact]
    public void Read_EmbeddedBpfObject_ReturnsParsableBtf()
    {
        var btf = ElfSections.Read(AbiStructs.Object, ".BTF");

        Assert.NotNull(btf);
        Assert.Equal(0xEB9F, BinaryPrimitives.ReadUInt16LittleEndian(btf));
        Assert.NotNull(BtfReader.Parse(btf).FindStruct("drop_event"));
    }

    [Fact]
    public void Read_AbsentSection_ReturnsNull()
    {
        Assert.Null(ElfSections.Read(AbiStructs.Object, ".no_such_section"));
        Assert.Null(ElfSections.Read(AbiStructs.Object, ".BT")); // a prefix of a real name is not a match
    }

    [Fact]
    public void Read_StrippedObject_HasNoDwarf()
    {
        Assert.Null(ElfSections.Read(AbiStructs.Object, ".debug_info"));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' })]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64 })]
    public void Read_NotElf_ThrowsBtfFormatException(byte[] image)
    {
        Assert.Throws<BtfFormatException>(() => ElfSections.Read(image, ".BTF"));
    }

    [Fact]
    public void Read_Elf32OrBigEndian_ThrowsBtfFormatException()
    {
        var elf32 = (byte[])AbiStructs.Object.Clone();
        elf32[4] = 1;
        var bigEndian = (byte[])AbiStructs.Object.Clone();
        bigEndian[5] = 2;

        Assert.Throws<BtfFormatException>(() => ElfSections.Read(elf32, ".BTF"));
        Assert.Throws<BtfFormatException>(() => ElfSections.Read(bigEndian, ".BTF"));
    }

    [Fact]
    public void Read_SectionTablePastEnd_ThrowsBtfFormatException()
    {
        var image = (byte[])AbiStructs.Object.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(0x28), (ulong)image.Length - 10);

        Assert.Throws<BtfFormatException>(() => ElfSections.Read(image, ".BTF"));
    }

    [Fact]
    public void Read_MutatedOrTruncatedObject_ThrowsOnlyBtfFormatException()
    {
        var valid = AbiStructs.Object;
        var shoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid.AsSpan(0x28));
        // Aim most mutations at the ELF header and the section header table, where the offsets live.
        var position = Gen.OneOf(Gen.Int[0, 63], Gen.Int[shoff, valid.Length - 1], Gen.Int[0, valid.Length - 1]);
        Gen.Select(Gen.Select(position, Gen.Byte).Array[1, 6], Gen.Int[0, valid.Length])
            .Sample((mutations, keep) =>
            {
                var image = valid[..keep];
                foreach (var (at, value) in mutations)
                {
                    if (at < image.Length)
                        image[at] = value;
                }
                try
                {
                    if (ElfSections.Read(image, ".BTF") is { } btf)
                        BtfReaderTests.ParseAndWalk(btf);
                }
                catch (BtfFormatException)
                {
                }
            }, iter: 20000);
    }
}
