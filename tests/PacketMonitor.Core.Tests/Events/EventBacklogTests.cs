using PacketMonitor.Core.Events;

namespace PacketMonitor.Core.Tests.Events;

public sealed class EventBacklogTests
{
    private static List<DropEvent> Batch(int n) => Enumerable.Range(0, n).Select(_ => EventSamples.Ipv4Tcp()).ToList();

    [Fact]
    public void TryWrite_BeyondCapacityInEvents_IsRefusedUntilReleased()
    {
        var backlog = new EventBacklog(capacityEvents: 10);

        Assert.True(backlog.Writer.TryWrite(Batch(6)));
        Assert.False(backlog.Writer.TryWrite(Batch(5)));
        Assert.True(backlog.Writer.TryWrite(Batch(4)));
        Assert.Equal(10, backlog.Queued);

        Assert.True(backlog.Reader.TryRead(out var first));
        backlog.Release(first.Count);

        Assert.Equal(4, backlog.Queued);
        Assert.True(backlog.Writer.TryWrite(Batch(5)));
    }

    [Fact]
    public async Task TryComplete_EndsTheReaderAfterTheQueuedBatches()
    {
        var backlog = new EventBacklog(100);
        backlog.Writer.TryWrite(Batch(3));
        backlog.Writer.TryComplete();

        Assert.False(backlog.Writer.TryWrite(Batch(1)));
        Assert.True(await backlog.Reader.WaitToReadAsync(TestContext.Current.CancellationToken));
        Assert.True(backlog.Reader.TryRead(out var batch));
        Assert.Equal(3, batch.Count);
        Assert.False(await backlog.Reader.WaitToReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal(3, backlog.Queued); // not released by the test: the count only falls on Release
    }
}
