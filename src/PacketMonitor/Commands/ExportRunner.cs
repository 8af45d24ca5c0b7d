using PacketMonitor.Core.Events;
using PacketMonitor.Core.Exports;
using PacketMonitor.Core.History;
using PacketMonitor.Core.Monitoring;
using PacketMonitor.Kernel;
using PacketMonitor.Kernel.Symbols;

namespace PacketMonitor.Cli.Commands;

/// <summary>
/// Runs `export --pcapng`: opens the output, attaches, writes every event that passes the filters as it arrives,
/// and stops after --count packets, --duration, Ctrl-C or SIGTERM; then says on stderr what was written and lost.
/// </summary>
/// <param name="openStdout">Standard output as a binary stream (for "-").</param>
/// <param name="stdoutIsTerminal">Binary data is not written to a terminal.</param>
public sealed class ExportRunner(Func<Stream> openStdout, TextWriter stderr, bool stdoutIsTerminal)
{
    public async Task<int> RunAsync(ExportSettings settings, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.History is { } range)
            return await FromHistoryAsync(settings, range, cancel);
        var watch = settings.Watch;
        using var loggers = Logging.Create(stderr, watch.Verbose);
        var logger = loggers.CreateLogger("packet-monitor");

        var reasons = KernelReasons.LoadChecked(logger, watch.Capture.Filter);
        var source = new KernelDropSource(watch.Capture, reasons, KallsymsTable.Load(), logger, watch.RingReader);
        string name = settings.ToStdout ? "standard output" : settings.Output;
        var output = Open(settings);
        LiveEvents live;
        try
        {
            live = LiveEvents.Start(source);
        }
        catch
        {
            // Nothing was captured: leave no empty file behind.
            await output.DisposeAsync();
            if (!settings.ToStdout)
                File.Delete(settings.Output);
            throw;
        }

        using (live)
        {
            string until = (watch.Count, watch.Duration) switch
            {
                (long n, TimeSpan d) => $" until {n} packets or {d.TotalSeconds:0.###} s",
                (long n, null) => $" until {n} packets",
                (null, TimeSpan d) => $" for {d.TotalSeconds:0.###} s",
                _ => "",
            };
            await stderr.WriteLineAsync($"packet-monitor: attached to skb:kfree_skb ({live.AttachMode}); writing pcapng to {name}{until}; Ctrl-C to stop");
            await stderr.FlushAsync(CancellationToken.None);

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            if (watch.Duration is TimeSpan duration)
                stop.CancelAfter(duration);
            // Stopping detaches; the events delivered until then are still written, then the sequence ends.
            using var onStop = stop.Token.Register(() => live.Stop());

            long written = 0;
            try
            {
                await using var writer = new PcapngWriter(output);
                // Not the stop token: a stop ends the sequence once what was delivered is written.
                written = await WriteAsync(live.ReadAllAsync(CancellationToken.None), writer, watch.Count, n => written = n, CancellationToken.None);
            }
            catch (IOException) when (settings.ToStdout)
            {
                // The reader went away (e.g. Wireshark closed): stop quietly with what was written.
            }
            catch (IOException e)
            {
                throw new CliException($"writing {name} failed: {Reason(e)}", ExitCode.Failure);
            }
            var losses = live.Stop();
            await stderr.WriteLineAsync(
                $"packet-monitor: wrote {written} packet{(written == 1 ? "" : "s")} to {name}; events lost: ring_full {losses.RingBufferFull}, queue_full {losses.QueueFull}");
            await stderr.FlushAsync(CancellationToken.None);
        }
        return (int)ExitCode.Ok;
    }

    /// <summary>Most events one export from history reads (memory stays bounded); --count lowers it.</summary>
    public const int MaxHistoryEvents = 1_000_000;

    /// <summary>Export from the history database: the newest events of the range that pass the filters, written oldest first.</summary>
    private async Task<int> FromHistoryAsync(ExportSettings settings, HistoryRange range, CancellationToken cancel)
    {
        var reader = new HistoryReader(range.DatabasePath);
        reader.RequireFile();
        var filter = settings.Watch.Capture.Filter;
        int limit = (int)Math.Min(settings.Watch.Count ?? MaxHistoryEvents, MaxHistoryEvents);
        // The database filters what it can; several reasons, exclusions and the namespace are checked here.
        var query = new EventQuery
        {
            Since = range.From, Until = range.To, Limit = limit,
            Reason = filter.Reasons.Count == 1 ? filter.Reasons[0] : null,
            Protocol = filter.Protocol, Port = filter.Port, Host = filter.Host, Interface = filter.Interface,
        };
        var newestFirst = reader.Events(query).Select(r => r.Event).Where(e => Passes(filter, e)).ToList();
        newestFirst.Reverse();
        string name = settings.ToStdout ? "standard output" : settings.Output;
        long written;
        await using (var output = Open(settings))
        {
            await using var writer = new PcapngWriter(output);
            written = await WriteAsync(OneBatch(newestFirst), writer, null, null, cancel);
        }
        string cut = newestFirst.Count >= limit && settings.Watch.Count is null ? $"; the newest {limit} of the range: narrow it for the rest" : "";
        await stderr.WriteLineAsync(
            $"packet-monitor: wrote {written} packet{(written == 1 ? "" : "s")} from {range.DatabasePath} ({Utc(range.From)} to {Utc(range.To)}) to {name}{cut}");
        await stderr.FlushAsync(CancellationToken.None);
        return (int)ExitCode.Ok;
    }

    private static string Utc(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static async IAsyncEnumerable<IReadOnlyList<DropEvent>> OneBatch(IReadOnlyList<DropEvent> events)
    {
        await Task.CompletedTask;
        yield return events;
    }

    /// <summary>The filters of a live capture, applied to a recorded event (what the database query could not).</summary>
    private static bool Passes(PacketMonitor.Core.Capture.EventFilter filter, DropEvent e) =>
        (filter.Reasons.Count == 0 || filter.Reasons.Contains(e.Reason, StringComparer.OrdinalIgnoreCase))
        && !filter.ExcludeReasons.Contains(e.Reason, StringComparer.OrdinalIgnoreCase)
        && (filter.Netns is null || e.Netns == filter.Netns);

    /// <summary>
    /// The export over any source of event batches (the live capture here, the history database later): writes each
    /// event as it comes, flushes after every batch so that whoever reads the output (Wireshark on a pipe, a file
    /// being followed) sees it at once, and stops after <paramref name="count"/> events.
    /// </summary>
    /// <param name="progress">Told the number written after every batch (so a failed write still reports it).</param>
    /// <returns>The number of events written.</returns>
    public static async Task<long> WriteAsync(IAsyncEnumerable<IReadOnlyList<DropEvent>> batches, PcapngWriter writer, long? count,
        Action<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(writer);
        long limit = count ?? long.MaxValue;
        long written = 0;
        await foreach (var batch in batches.WithCancellation(cancellationToken))
        {
            for (int i = 0; i < batch.Count && written < limit; i++, written++)
                await writer.WriteAsync(batch[i], cancellationToken);
            await writer.FlushAsync(cancellationToken);
            progress?.Invoke(written);
            if (written >= limit)
                break;
        }
        return written;
    }

    /// <summary>Opens the output before attaching, so that a path that cannot be written fails fast with one line.</summary>
    private Stream Open(ExportSettings settings)
    {
        if (settings.ToStdout)
        {
            if (stdoutIsTerminal)
                throw new CliException("--pcapng -: standard output is a terminal; redirect it to a file or pipe it (e.g. | wireshark -k -i -)");
            return openStdout();
        }
        string path = settings.Output;
        if (Directory.Exists(path))
            throw new CliException($"--pcapng: '{path}' is a directory: give a file name");
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
            throw new CliException($"--pcapng: cannot write '{path}': the directory {directory} does not exist");
        try
        {
            return new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (UnauthorizedAccessException)
        {
            throw new CliException($"--pcapng: cannot write '{path}': permission denied", ExitCode.Environment);
        }
        catch (FileNotFoundException)
        {
            throw new CliException($"--pcapng: cannot write '{path}': a file cannot be created there", ExitCode.Environment);
        }
        catch (IOException e)
        {
            throw new CliException($"--pcapng: cannot write '{path}': {Reason(e)}", ExitCode.Environment);
        }
    }

    /// <summary>The system's reason without the path .NET appends ("Read-only file system : '/x'").</summary>
    private static string Reason(IOException e)
    {
        int pathAt = e.Message.IndexOf(" : '", StringComparison.Ordinal);
        return (pathAt > 0 ? e.Message[..pathAt] : e.Message).TrimEnd('.').ToLowerInvariant();
    }
}
