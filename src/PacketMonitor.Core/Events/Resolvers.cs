namespace PacketMonitor.Core.Events;

/// <summary>Names of drop reasons, as the running kernel defines them.</summary>
public interface IReasonNames
{
    /// <summary>Name without the SKB_DROP_REASON_ prefix; an unknown code gives a stable placeholder.</summary>
    string NameOf(uint code);
}

/// <summary>Turns a kernel text address into <c>function+0xoffset</c>.</summary>
public interface ISymbolResolver
{
    string Resolve(ulong address);
}
