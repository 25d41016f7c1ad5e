// Licensed under the Apache License, Version 2.0.

using System.Runtime.CompilerServices;
using Scst.Core;
using Scst.Core.Management;

namespace Scst.Handlers;

/// <summary>
/// A CD-ROM drive that plays ISO images (SCST's vcdrom): peripheral device type 05h, 2048-byte logical blocks, always
/// write-protected and removable.
/// </summary>
/// <remarks>
/// <para>
/// The medium is the image named by the <c>filename</c> attribute; writing the attribute changes it (an empty value
/// leaves the drive empty) unless an initiator prevents medium removal, and a new medium establishes NOT READY TO READY
/// CHANGE, MEDIUM MAY HAVE CHANGED for every I_T nexus. START STOP UNIT with LOEJ opens the tray (the medium is out of
/// reach) and closes it again (the same image is back). Without a medium, TEST UNIT READY and every command that reads
/// the medium get NOT READY, MEDIUM NOT PRESENT; INQUIRY, MODE SENSE, GET CONFIGURATION, GET EVENT STATUS NOTIFICATION,
/// MECHANISM STATUS, START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL still answer.
/// </para>
/// <para>
/// Commands: the SPC commands of the core, READ(10), READ(12), READ CAPACITY(10), VERIFY(10), SYNCHRONIZE CACHE(10),
/// START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, SEND DIAGNOSTIC, and the MMC commands READ TOC/PMA/ATIP (formats 0
/// and 1, LBA or MSF addresses), GET CONFIGURATION, GET EVENT STATUS NOTIFICATION (polled, media class), READ DISC
/// INFORMATION and MECHANISM STATUS. WRITE(10), WRITE(12), WRITE AND VERIFY(10) and FORMAT UNIT get DATA PROTECT, WRITE
/// PROTECTED; every other operation code gets INVALID COMMAND OPERATION CODE.
/// </para>
/// <para>
/// Reads run synchronously on the command's thread, with positional I/O on the image. A read that meets a medium change
/// fails with NOT READY, MEDIUM NOT PRESENT (the image it started on was closed) or LOGICAL BLOCK ADDRESS OUT OF RANGE
/// (the new image is shorter), never with data of two images.
/// </para>
/// </remarks>
public sealed partial class VcdromDevice : BlockDevice
{
    // Media event codes of GET EVENT STATUS NOTIFICATION (MMC-6 table 153).
    private const byte NoChange = 0x0;
    private const byte NewMedia = 0x2;
    private const byte MediaRemoval = 0x3;

    private readonly Lock _lock = new();
    private readonly bool _singleTaskSet;
    private readonly ConditionalWeakTable<ScsiSession, StrongBox<int>> _eventsSeen = new();
    private IsoImage? _image;
    private volatile bool _trayOpen;
    private int _mediaEventGeneration;
    private byte _lastMediaEvent;

    internal VcdromDevice(string name, IsoImage? image, bool singleTaskSet)
        : base(name, VcdromHandler.HandlerName, PeripheralDeviceType.CdDvd, DeviceIdentity.FromName(name) with { ProductId = "Virtual CD-ROM" })
    {
        _image = image;
        _singleTaskSet = singleTaskSet;
    }

    /// <summary>The image file in the drive, or an empty string when the drive is empty.</summary>
    public string Filename => Volatile.Read(ref _image)?.Path ?? string.Empty;

    /// <summary>Whether START STOP UNIT opened the tray (LOEJ=1, START=0) and no load has closed it since.</summary>
    public bool TrayOpen => _trayOpen;

    /// <inheritdoc />
    public override int BlockSize => IsoImage.SectorSize;

    /// <summary>The number of 2048-byte sectors of the image in the drive; 0 when the drive is empty.</summary>
    public override long BlockCount => Volatile.Read(ref _image)?.SectorCount ?? 0;

    /// <summary>Always true: a CD-ROM is read-only, and writes get DATA PROTECT, WRITE PROTECTED.</summary>
    public override bool ReadOnly => true;

    /// <summary>Always true (INQUIRY RMB).</summary>
    public override bool Removable => true;

    /// <summary>Whether an image is in the drive and the tray is closed.</summary>
    public override bool MediumPresent => !_trayOpen && Volatile.Read(ref _image) is not null;

    /// <inheritdoc />
    public override bool SingleTaskSet => _singleTaskSet;

    /// <summary>
    /// The device's attributes: those of every block device, <c>filename</c> (writable: changes the medium) and
    /// <c>tst</c>.
    /// </summary>
    public override IReadOnlyList<ManagementAttribute> ManagementAttributes =>
    [
        .. base.ManagementAttributes,
        new ManagementAttribute { Name = "filename", Read = () => Filename, Write = ChangeMedium },
        new ManagementAttribute { Name = "tst", Read = () => _singleTaskSet ? "0" : "1", Type = ManagementAttributeType.Integer, DefaultValue = "1" },
    ];

    /// <summary>
    /// Loads another image, or empties the drive: what writing the <c>filename</c> attribute does. A new image
    /// establishes NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED for every I_T nexus and closes the tray; the
    /// image it replaces is closed.
    /// </summary>
    /// <param name="filename">The absolute path of an image file, or an empty (or blank) string for no medium.</param>
    /// <exception cref="ArgumentException">The path is relative, or names no readable file of at least one sector.</exception>
    /// <exception cref="InvalidOperationException">An initiator prevents medium removal (PREVENT ALLOW MEDIUM REMOVAL).</exception>
    public void ChangeMedium(string filename)
    {
        ArgumentNullException.ThrowIfNull(filename);
        string path = filename.Trim();
        IsoImage? next = path.Length == 0 ? null : IsoImage.Open(Name, path);
        IsoImage? previous;
        lock (_lock)
        {
            previous = _image;
            if (previous is null && next is null)
            {
                return;
            }

            if (IsMediumRemovalPrevented())
            {
                next?.Dispose();
                throw new InvalidOperationException(
                    $"Device {Name}: medium removal is prevented (an initiator sent PREVENT ALLOW MEDIUM REMOVAL); the medium cannot be changed.");
            }

            bool wasPresent = previous is not null && !_trayOpen;
            Volatile.Write(ref _image, next);
            if (next is not null)
            {
                _trayOpen = false;
                RecordMediaEvent(NewMedia);
            }
            else if (wasPresent)
            {
                RecordMediaEvent(MediaRemoval);
            }
        }

        previous?.Dispose();
        if (next is not null)
        {
            EstablishUnitAttention(SenseCode.MediumMayHaveChanged);
        }
    }

    /// <summary>Closes the tray (START STOP UNIT, LOEJ=1, START=1): the image in the drive, if any, is readable again.</summary>
    /// <inheritdoc />
    protected override CommandOutcome LoadMedium(ScsiSession session)
    {
        lock (_lock)
        {
            if (_trayOpen)
            {
                _trayOpen = false;
                if (_image is not null)
                {
                    RecordMediaEvent(NewMedia);
                }
            }
        }

        return CommandOutcome.Good;
    }

    /// <summary>Opens the tray (START STOP UNIT, LOEJ=1, START=0): the medium is out of reach until the tray closes.</summary>
    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> EjectMediumAsync(ScsiSession session, bool flush)
    {
        lock (_lock)
        {
            if (!_trayOpen)
            {
                _trayOpen = true;
                if (_image is not null)
                {
                    RecordMediaEvent(MediaRemoval);
                }
            }
        }

        return new(CommandOutcome.Good);
    }

    /// <inheritdoc />
    public override ValueTask<CommandOutcome> ExecuteAsync(ScsiCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        byte opcode = command.Cdb[0];
        if (opcode is 0x43 or 0x46 or 0x4A or 0x51 or 0xBD)
        {
            return new(ExecuteMmc(command));
        }

        return base.ExecuteAsync(command);
    }

    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> ReadAsync(long offset, Memory<byte> destination)
    {
        IsoImage? image = Volatile.Read(ref _image);
        if (image is null || _trayOpen)
        {
            return new(CommandOutcome.CheckCondition(SenseCode.MediumNotPresent));
        }

        if (offset + destination.Length > image.SectorCount * IsoImage.SectorSize)
        {
            return new(CommandOutcome.CheckCondition(SenseCode.LbaOutOfRange));
        }

        try
        {
            Span<byte> span = destination.Span;
            while (!span.IsEmpty)
            {
                int n = RandomAccess.Read(image.File, span, offset);
                if (n == 0)
                {
                    // The image was truncated behind the drive's back: the rest reads as zeros.
                    span.Clear();
                    break;
                }

                span = span[n..];
                offset += n;
            }

            return new(CommandOutcome.Good);
        }
        catch (ObjectDisposedException)
        {
            // The medium changed while the command waited: the image it was for is gone.
            return new(CommandOutcome.CheckCondition(SenseCode.MediumNotPresent));
        }
        catch (IOException)
        {
            return new(CommandOutcome.CheckCondition(SenseCode.UnrecoveredReadError));
        }
    }

    /// <summary>Never called: the core refuses every write to a write-protected unit. Answers DATA PROTECT all the same.</summary>
    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> WriteAsync(long offset, ReadOnlyMemory<byte> source, bool forceUnitAccess) =>
        new(CommandOutcome.CheckCondition(SenseCode.WriteProtected));

    /// <summary>Nothing to flush: the drive never writes.</summary>
    /// <inheritdoc />
    protected override ValueTask<CommandOutcome> FlushAsync() => new(CommandOutcome.Good);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        IsoImage? image;
        lock (_lock)
        {
            image = _image;
            Volatile.Write(ref _image, null);
        }

        image?.Dispose();
    }

    // A media event for GET EVENT STATUS NOTIFICATION: each I_T nexus that polls gets the latest one once. Under _lock.
    private void RecordMediaEvent(byte code)
    {
        _lastMediaEvent = code;
        _mediaEventGeneration++;
    }

    // The media event an I_T nexus has not seen yet (NoChange when none), taken when consume is set. A nexus that polls
    // for the first time starts from the events that follow.
    private byte TakeMediaEvent(ScsiSession session, bool consume)
    {
        lock (_lock)
        {
            if (!_eventsSeen.TryGetValue(session, out StrongBox<int>? seen))
            {
                _eventsSeen.Add(session, new StrongBox<int>(_mediaEventGeneration));
                return NoChange;
            }

            if (seen.Value == _mediaEventGeneration)
            {
                return NoChange;
            }

            if (consume)
            {
                seen.Value = _mediaEventGeneration;
            }

            return _lastMediaEvent;
        }
    }
}
