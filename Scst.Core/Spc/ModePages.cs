// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Scst.Core.Spc;

/// <summary>The page control field of MODE SENSE (SPC-4 section 6.11): which values of the mode pages to return.</summary>
internal enum ModePageControl : byte
{
    Current = 0,
    Changeable = 1,
    Default = 2,
    Saved = 3,
}

/// <summary>
/// The mode pages of one device (SPC-4 section 7.5, SBC-3 section 6.5) with their current, changeable, default and
/// saved values: read-write error recovery (01h), disconnect-reconnect (02h), format device (03h), rigid disk geometry
/// (04h), caching (08h), control (0Ah) and informational exceptions control (1Ch) for a disk; 01h, 0Ah and 1Ch for a
/// CD/DVD device; 02h, 0Ah and 1Ch for any other.
/// </summary>
/// <remarks>
/// The pages are shared by every I_T nexus that sees the device, as SCST shares them. Initiators change them with
/// MODE SELECT; only the bits of the changeable mask may differ from the current value. Saved values live in a file
/// of the core's state directory (<see cref="ScstOptions.StateDirectory"/>) and are loaded when the device is
/// registered; without a state directory, saving is not supported.
/// </remarks>
public sealed class ModePages
{
    internal const byte ReadWriteErrorRecovery = 0x01;
    internal const byte DisconnectReconnect = 0x02;
    internal const byte FormatDevice = 0x03;
    internal const byte RigidDiskGeometry = 0x04;
    internal const byte Caching = 0x08;
    internal const byte Control = 0x0A;
    internal const byte InformationalExceptions = 0x1C;
    internal const byte AllPages = 0x3F;

    // Bits of the pages the core acts on.
    private const byte CachingWce = 0x04;          // caching page byte 2
    private const byte ControlDSense = 0x04;       // control page byte 2
    private const byte ControlSwp = 0x08;          // control page byte 4
    private const byte ControlTas = 0x40;          // control page byte 5

    private const int HeadsPerCylinder = 255;
    private const int SectorsPerTrack = 56;

    private readonly Lock _lock = new();
    private readonly ScsiDevice _device;
    private readonly Page[] _pages;
    private string? _savePath;
    private volatile bool _writeCacheEnabled;
    private volatile bool _softwareWriteProtect;
    private volatile bool _restrictedReordering;

    internal ModePages(ScsiDevice device)
    {
        _device = device;
        // A disk has SBC's pages; a CD/DVD block device has the pages SCST gives a CD-ROM (read-write error recovery,
        // control, informational exceptions); any other device the SPC pages.
        _pages = device switch
        {
            BlockDevice when device.DeviceType == PeripheralDeviceType.CdDvd =>
                [NewReadWriteErrorRecovery(), NewControl(device), NewInformationalExceptions()],
            BlockDevice =>
                [NewReadWriteErrorRecovery(), NewDisconnectReconnect(), NewFormatDevice(device), NewRigidDiskGeometry(device), NewCaching(device), NewControl(device), NewInformationalExceptions()],
            _ => [NewDisconnectReconnect(), NewControl(device), NewInformationalExceptions()],
        };
        PublishCurrent();
    }

    /// <summary>Whether saved values are supported: the core has a state directory.</summary>
    public bool SavingSupported => Volatile.Read(ref _savePath) is not null;

    /// <summary>The current WCE bit of the caching page: whether writes may be acknowledged before they are stable.</summary>
    public bool WriteCacheEnabled => _writeCacheEnabled;

    /// <summary>The current SWP bit of the control page: the logical unit refuses writes with DATA PROTECT.</summary>
    public bool SoftwareWriteProtect => _softwareWriteProtect;

    /// <summary>
    /// Whether the current QUEUE ALGORITHM MODIFIER of the control page is 0 (restricted reordering): SIMPLE commands
    /// that share blocks, one of them writing, run in the order they came. 1 (unrestricted, the default) lets SIMPLE
    /// commands run in any order.
    /// </summary>
    public bool RestrictedReordering => _restrictedReordering;

    /// <summary>The current D_SENSE bit of the control page: sense data is returned in descriptor format.</summary>
    public bool DescriptorSense
    {
        get
        {
            lock (_lock)
            {
                return (Find(Control)!.Current[2] & ControlDSense) != 0;
            }
        }
    }

    /// <summary>The current TAS bit of the control page: aborted commands of other nexuses end with TASK ABORTED.</summary>
    public bool TaskAbortedStatus
    {
        get
        {
            lock (_lock)
            {
                return (Find(Control)!.Current[5] & ControlTas) != 0;
            }
        }
    }

    /// <summary>The current QERR field of the control page (0: commands continue after a CHECK CONDITION).</summary>
    public int QueueErrorManagement
    {
        get
        {
            lock (_lock)
            {
                return (Find(Control)!.Current[3] >> 1) & 0x03;
            }
        }
    }

    /// <summary>The file the saved pages are written to, or null when saving is not supported.</summary>
    internal string? SavePath => Volatile.Read(ref _savePath);

    /// <summary>Whether the device implements <paramref name="pageCode"/> (3Fh counts).</summary>
    internal bool HasPage(byte pageCode) => pageCode == AllPages || Find(pageCode) is not null;

    /// <summary>
    /// Enables saving to <paramref name="stateDirectory"/> and loads the saved values written by an earlier run. A
    /// missing file means nothing was saved; a damaged one is ignored (the defaults stay), as is a page whose length no
    /// longer matches. Only changeable bits are taken from the file.
    /// </summary>
    internal void Load(string? stateDirectory)
    {
        if (stateDirectory is null)
        {
            return;
        }

        string path = Path.Combine(stateDirectory, "mode_pages", _device.Name);
        Volatile.Write(ref _savePath, path);
        string[] lines;
        try
        {
            lines = File.Exists(path) ? File.ReadAllLines(path) : [];
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }

        lock (_lock)
        {
            foreach (string line in lines)
            {
                byte[]? bytes = ParseHex(line);
                if (bytes is null || bytes.Length < 2 || Find((byte)(bytes[0] & 0x3F)) is not { } page || bytes.Length != page.Current.Length)
                {
                    continue;
                }

                for (int i = 2; i < bytes.Length; i++)
                {
                    byte mask = page.Changeable[i];
                    page.Saved[i] = (byte)((page.Default[i] & ~mask) | (bytes[i] & mask));
                    page.Current[i] = page.Saved[i];
                }
            }

            PublishCurrent();
        }
    }

    /// <summary>Writes one page (or all pages for 3Fh) with the values <paramref name="pc"/> selects.</summary>
    /// <returns>The bytes written, or -1 when the page is not implemented.</returns>
    internal int Write(Span<byte> destination, byte pageCode, ModePageControl pc)
    {
        lock (_lock)
        {
            if (pageCode != AllPages)
            {
                Page? page = Find(pageCode);
                return page is null ? -1 : WritePage(destination, page, pc);
            }

            int n = 0;
            foreach (Page page in _pages)
            {
                n += WritePage(destination[n..], page, pc);
            }

            return n;
        }
    }

    /// <summary>The bytes all pages take (the size MODE SENSE with page 3Fh needs).</summary>
    internal int TotalLength
    {
        get
        {
            int n = 0;
            foreach (Page page in _pages)
            {
                n += page.Current.Length;
            }

            return n;
        }
    }

    /// <summary>
    /// Applies the pages of a MODE SELECT parameter list (after its header and block descriptors). Every page is
    /// checked before any is applied, so a list with one bad page changes nothing.
    /// </summary>
    /// <param name="pages">The mode pages of the parameter list.</param>
    /// <param name="listOffset">The offset of <paramref name="pages"/> in the parameter list, for field pointers.</param>
    /// <param name="save">SP: also save every page.</param>
    /// <param name="changed">Whether a current value changed.</param>
    /// <returns>GOOD, or the reason the list was refused.</returns>
    internal CommandOutcome Select(ReadOnlySpan<byte> pages, int listOffset, bool save, out bool changed)
    {
        changed = false;
        lock (_lock)
        {
            CommandOutcome check = Validate(pages, listOffset);
            if (!check.IsGood)
            {
                return check;
            }

            for (int at = 0; at < pages.Length;)
            {
                Page page = Find((byte)(pages[at] & 0x3F))!;
                ReadOnlySpan<byte> values = pages.Slice(at, page.Current.Length);
                for (int i = 2; i < values.Length; i++)
                {
                    byte mask = page.Changeable[i];
                    byte next = (byte)((page.Current[i] & ~mask) | (values[i] & mask));
                    changed |= next != page.Current[i];
                    page.Current[i] = next;
                }

                at += values.Length;
            }

            PublishCurrent();
            if (save)
            {
                foreach (Page page in _pages)
                {
                    page.Current.CopyTo(page.Saved, 0);
                }

                return WriteSaved() ? CommandOutcome.Good : CommandOutcome.CheckCondition(SenseCode.InternalTargetFailure);
            }

            return CommandOutcome.Good;
        }
    }

    private CommandOutcome Validate(ReadOnlySpan<byte> pages, int listOffset)
    {
        for (int at = 0; at < pages.Length;)
        {
            if (pages.Length - at < 2)
            {
                return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
            }

            byte first = pages[at];
            if ((first & 0x80) != 0)
            {
                return CommandOutcome.InvalidFieldInParameterList(listOffset + at, 7); // PS is reserved in MODE SELECT
            }

            if ((first & 0x40) != 0)
            {
                return CommandOutcome.InvalidFieldInParameterList(listOffset + at, 6); // SPF: no subpages here
            }

            Page? page = Find((byte)(first & 0x3F));
            if (page is null)
            {
                return CommandOutcome.InvalidFieldInParameterList(listOffset + at);
            }

            if (pages[at + 1] != page.Current.Length - 2)
            {
                return CommandOutcome.InvalidFieldInParameterList(listOffset + at + 1);
            }

            if (pages.Length - at < page.Current.Length)
            {
                return CommandOutcome.CheckCondition(SenseCode.ParameterListLengthError);
            }

            ReadOnlySpan<byte> values = pages.Slice(at, page.Current.Length);
            for (int i = 2; i < values.Length; i++)
            {
                int wrong = (values[i] ^ page.Current[i]) & ~page.Changeable[i] & 0xFF;
                if (wrong != 0)
                {
                    return CommandOutcome.InvalidFieldInParameterList(listOffset + at + i, 31 - BitOperations.LeadingZeroCount((uint)wrong));
                }
            }

            if (page.Code == Control)
            {
                // QUEUE ALGORITHM MODIFIER 2h-7h and QERR 10b are reserved (SPC-4 table 457).
                int qam = values[3] >> 4;
                if (qam is >= 2 and <= 7)
                {
                    return CommandOutcome.InvalidFieldInParameterList(listOffset + at + 3, 7);
                }

                if (((values[3] >> 1) & 0x03) == 2)
                {
                    return CommandOutcome.InvalidFieldInParameterList(listOffset + at + 3, 2);
                }
            }

            at += page.Current.Length;
        }

        return CommandOutcome.Good;
    }

    // Written as text, one page per line in hex, through a temporary file that is flushed to disk and renamed over the
    // old one: a crash leaves either the old or the new file, never a torn one.
    private bool WriteSaved()
    {
        string? path = SavePath;
        if (path is null)
        {
            return false;
        }

        var text = new StringBuilder();
        foreach (Page page in _pages)
        {
            foreach (byte b in page.Saved)
            {
                text.Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }

            text.Append('\n');
        }

        string temp = path + ".tmp";
        try
        {
            string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            bool created = Reservations.ReservationStore.CreateDirectory(directory);
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                byte[] bytes = Encoding.ASCII.GetBytes(text.ToString());
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }

            // The rename, and a directory made for the file, are durable once their directories are flushed.
            File.Move(temp, path, overwrite: true);
            Reservations.ReservationStore.SyncDirectory(directory);
            if (created)
            {
                Reservations.ReservationStore.SyncDirectory(Path.GetDirectoryName(directory)!);
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private int WritePage(Span<byte> d, Page page, ModePageControl pc)
    {
        byte[] source = pc switch
        {
            ModePageControl.Changeable => page.Changeable,
            ModePageControl.Default => page.Default,
            ModePageControl.Saved => page.Saved,
            _ => page.Current,
        };

        source.CopyTo(d);
        d[0] = page.Code;
        d[1] = (byte)(page.Current.Length - 2);
        if (SavePath is not null && page.IsSavable)
        {
            d[0] |= 0x80; // PS: the page can be saved
        }

        return source.Length;
    }

    private Page? Find(byte code)
    {
        foreach (Page p in _pages)
        {
            if (p.Code == code)
            {
                return p;
            }
        }

        return null;
    }

    private void PublishCurrent()
    {
        if (Find(Caching) is { } caching)
        {
            _writeCacheEnabled = (caching.Current[2] & CachingWce) != 0;
        }

        Page control = Find(Control)!;
        _softwareWriteProtect = (control.Current[4] & ControlSwp) != 0;
        _restrictedReordering = (control.Current[3] >> 4) == 0;
        _device.DescriptorSense = (control.Current[2] & ControlDSense) != 0;
    }

    private static byte[]? ParseHex(string line)
    {
        line = line.Trim();
        if (line.Length == 0 || line.Length % 2 != 0)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(line);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    // Page layouts: SBC-3 section 6.5 (01h, 08h), SPC-4 section 7.5 (02h, 0Ah, 1Ch), SBC-2 annex (03h, 04h; obsolete
    // in SBC-3 but still asked for by initiators that compute a CHS geometry).
    private static Page NewReadWriteErrorRecovery()
    {
        var p = new Page(ReadWriteErrorRecovery, 12);
        p.Default[2] = 0xC0; // AWRE, ARRE: reallocation is the backing store's business
        return p.Finish();
    }

    private static Page NewDisconnectReconnect() => new Page(DisconnectReconnect, 16).Finish();

    private static Page NewFormatDevice(ScsiDevice device)
    {
        var p = new Page(FormatDevice, 24);
        BinaryPrimitives.WriteUInt16BigEndian(p.Default.AsSpan(10), SectorsPerTrack);
        BinaryPrimitives.WriteUInt16BigEndian(p.Default.AsSpan(12), (ushort)Math.Min(device.BlockSize, ushort.MaxValue));
        p.Default[20] = (byte)(0x40 | (device.Removable ? 0x20 : 0)); // HSEC, RMB
        return p.Finish();
    }

    private static Page NewRigidDiskGeometry(ScsiDevice device)
    {
        var p = new Page(RigidDiskGeometry, 24);
        long blocks = (device as BlockDevice)?.BlockCount ?? 0;
        long cylinders = Math.Min(blocks / (HeadsPerCylinder * SectorsPerTrack), 0xFF_FFFF);
        p.Default[2] = (byte)(cylinders >> 16);
        p.Default[3] = (byte)(cylinders >> 8);
        p.Default[4] = (byte)cylinders;
        p.Default[5] = HeadsPerCylinder;
        BinaryPrimitives.WriteUInt16BigEndian(p.Default.AsSpan(20), device.Rotational ? (ushort)7200 : (ushort)1);
        return p.Finish();
    }

    private static Page NewCaching(ScsiDevice device)
    {
        var p = new Page(Caching, 20);
        p.Default[2] = device.WriteCacheEnabled ? CachingWce : (byte)0;
        p.Changeable[2] = device.WriteCacheChangeable ? CachingWce : (byte)0;
        return p.Finish();
    }

    private static Page NewControl(ScsiDevice device)
    {
        var p = new Page(Control, 12);
        p.Default[2] = (byte)((device.SingleTaskSet ? 0 : 1 << 5) | (device.DescriptorSense ? ControlDSense : 0)); // TST
        p.Default[3] = (byte)(((device.DefaultQueueAlgorithmModifier & 0x0F) << 4) | ((device.DefaultQueueErrorManagement & 0x03) << 1)); // QAM (1: unrestricted reordering), QERR
        p.Default[4] = device.DefaultSoftwareWriteProtect ? ControlSwp : (byte)0;
        p.Default[5] = device.DefaultTaskAbortedStatus ? ControlTas : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(p.Default.AsSpan(8), 0xFFFF);               // BUSY TIMEOUT PERIOD: unlimited
        p.Changeable[2] = 0x10 | 0x08 | ControlDSense;                                   // TMF_ONLY, DPICZ, D_SENSE
        p.Changeable[3] = 0xF0 | 0x06;                                                    // QUEUE ALGORITHM MODIFIER, QERR
        p.Changeable[4] = ControlSwp;
        p.Changeable[5] = ControlTas;
        return p.Finish();
    }

    private static Page NewInformationalExceptions() => new Page(InformationalExceptions, 12).Finish();

    private sealed class Page(byte code, int length)
    {
        public byte Code { get; } = code;

        public byte[] Current { get; } = new byte[length];

        public byte[] Default { get; } = new byte[length];

        public byte[] Saved { get; } = new byte[length];

        public byte[] Changeable { get; } = new byte[length];

        public bool IsSavable { get; private set; }

        public Page Finish()
        {
            Default[0] = Current[0] = Saved[0] = Changeable[0] = Code;
            Default[1] = Current[1] = Saved[1] = Changeable[1] = (byte)(Default.Length - 2);
            Default.CopyTo(Current, 0);
            Default.CopyTo(Saved, 0);
            IsSavable = Changeable.AsSpan(2).ContainsAnyExcept((byte)0);
            return this;
        }
    }
}
