using Microsoft.Win32.SafeHandles;

namespace PacketMonitor.Kernel.Native;

/// <summary>An opened (and later loaded) <c>struct bpf_object</c>; closing it unloads programs and maps.</summary>
internal sealed class BpfObjectHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BpfObjectHandle() : base(ownsHandle: true) { }

    internal BpfObjectHandle(nint handle) : base(ownsHandle: true) => SetHandle(handle);

    protected override bool ReleaseHandle()
    {
        Interop.bpf_object__close(handle);
        return true;
    }
}

/// <summary>An attached <c>struct bpf_link</c>; destroying it detaches the program.</summary>
internal sealed class BpfLinkHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    // The link holds a program of the object: keep the object alive until the link is gone.
    private readonly BpfObjectHandle _owner;
    private bool _ownerRef;

    internal BpfLinkHandle(nint handle, BpfObjectHandle owner) : base(ownsHandle: true)
    {
        _owner = owner;
        owner.DangerousAddRef(ref _ownerRef);
        SetHandle(handle);
    }

    protected override bool ReleaseHandle()
    {
        _ = Interop.bpf_link__destroy(handle);
        if (_ownerRef)
            _owner.DangerousRelease();
        return true;
    }
}

/// <summary>A libbpf <c>struct ring_buffer</c> consumer over one ring-buffer map of a loaded object.</summary>
internal sealed class RingBufferHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly BpfObjectHandle? _owner;
    private bool _ownerRef;

    public RingBufferHandle() : base(ownsHandle: true) { }

    internal RingBufferHandle(nint handle, BpfObjectHandle owner) : base(ownsHandle: true)
    {
        _owner = owner;
        owner.DangerousAddRef(ref _ownerRef);
        SetHandle(handle);
    }

    protected override bool ReleaseHandle()
    {
        Interop.ring_buffer__free(handle);
        if (_ownerRef)
            _owner!.DangerousRelease();
        return true;
    }
}

/// <summary>An rtnetlink socket; it stays in the network namespace it was created in.</summary>
internal sealed class NetlinkSocketHandle : SafeHandleMinusOneIsInvalid
{
    public NetlinkSocketHandle() : base(ownsHandle: true) { }

    internal NetlinkSocketHandle(int fd) : base(ownsHandle: true) => SetHandle(fd);

    protected override bool ReleaseHandle() => Interop.close((int)handle) == 0;
}
