// Licensed under the Apache License, Version 2.0.

using System.Buffers.Binary;
using System.Numerics;
using Scst.Core;
using Scst.Core.Cdb;

namespace Scst.Handlers;

// The MMC-6 commands of the drive: READ TOC/PMA/ATIP (6.26), GET CONFIGURATION (6.6), GET EVENT STATUS NOTIFICATION
// (6.7), READ DISC INFORMATION (6.22) and MECHANISM STATUS (6.11). The drive plays one data track of one complete
// session: a pressed CD-ROM. Answers are built on the stack and cut to the allocation length.
public sealed partial class VcdromDevice
{
    // Profile 0008h, CD-ROM: the current profile while a medium is in the drive (MMC-6 table 89).
    private const ushort CdRomProfile = 0x0008;

    // ADR 1 (Q sub-channel encodes the current position) and CONTROL 4 (data track, recorded uninterrupted).
    private const byte AdrControlDataTrack = 0x14;

    private const byte LeadOutTrack = 0xAA;

    // Notification class 4 (media) and its bit in NOTIFICATION CLASS REQUEST and SUPPORTED EVENT CLASSES.
    private const byte MediaClass = 4;
    private const byte MediaClassBit = 1 << MediaClass;

    // MSF addresses start 2 seconds (150 frames) before LBA 0; 75 frames a second, 60 seconds a minute.
    private const int MsfOffset = 150;

    private CommandOutcome ExecuteMmc(ScsiCommand command)
    {
        CommandOutcome reserved = CheckReservedBits(command.Cdb, command.Descriptor!);
        if (!reserved.IsGood)
        {
            return reserved;
        }

        // The core turned a command that needs the medium away when it was missing; it may have gone since.
        IsoImage? image = Volatile.Read(ref _image);
        bool present = image is not null && !_trayOpen;
        return command.Cdb[0] switch
        {
            0x46 => GetConfiguration(command, present),
            0x4A => GetEventStatusNotification(command),
            0xBD => MechanismStatus(command),
            _ when !present => CommandOutcome.CheckCondition(SenseCode.MediumNotPresent),
            0x43 => ReadToc(command, image!.SectorCount),
            _ => ReadDiscInformation(command),
        };
    }

    // A bit set where the command's CDB USAGE DATA has none is a reserved bit; the CONTROL byte is the core's business
    // (and READ TOC/PMA/ATIP's old FORMAT field lives in its vendor-specific bits).
    private static CommandOutcome CheckReservedBits(ReadOnlySpan<byte> cdb, CdbDescriptor descriptor)
    {
        ReadOnlySpan<byte> usage = descriptor.UsageData;
        for (int i = 1; i < usage.Length - 1; i++)
        {
            int wrong = cdb[i] & ~usage[i] & 0xFF;
            if (wrong != 0)
            {
                return CommandOutcome.InvalidFieldInCdb(i, 31 - BitOperations.LeadingZeroCount((uint)wrong));
            }
        }

        return CommandOutcome.Good;
    }

    // READ TOC/PMA/ATIP: byte 1 MSF (bit 1); byte 2 FORMAT (bits 3-0); byte 6 TRACK/SESSION NUMBER; bytes 7-8
    // ALLOCATION LENGTH; byte 9 CONTROL, whose bits 7-6 held the format before MMC (SFF-8020), taken when FORMAT is 0.
    // Response: bytes 0-1 DATA LENGTH (n - 2), byte 2 first track (format 0) or first complete session (format 1),
    // byte 3 the last one, then 8-byte track descriptors: byte 1 ADR/CONTROL, byte 2 TRACK NUMBER, bytes 4-7 the track
    // start address as an LBA, or with MSF as reserved, M, S, F.
    private static CommandOutcome ReadToc(ScsiCommand command, long sectors)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        bool msf = (cdb[1] & 0x02) != 0;
        int format = cdb[2] & 0x0F;
        int formatByte = 2;
        if (format == 0 && (cdb[9] & 0xC0) != 0)
        {
            format = cdb[9] >> 6;
            formatByte = 9;
        }

        byte track = cdb[6];
        Span<byte> d = stackalloc byte[4 + 8 + 8];
        d.Clear();
        d[2] = 1;
        d[3] = 1;
        int n = 4;
        switch (format)
        {
            case 0:
                // Formatted TOC: the descriptors of the tracks from TRACK NUMBER on, then the lead-out. Track 0 asks
                // for the first track; AAh for the lead-out alone.
                if (track > 1 && track != LeadOutTrack)
                {
                    return CommandOutcome.InvalidFieldInCdb(6);
                }

                if (track != LeadOutTrack)
                {
                    n += TrackDescriptor(d[n..], 1, 0, msf);
                }

                n += TrackDescriptor(d[n..], LeadOutTrack, sectors, msf);
                break;
            case 1:
                // Multi-session information: the first track of the last complete session; SESSION NUMBER is reserved.
                if (track != 0)
                {
                    return CommandOutcome.InvalidFieldInCdb(6);
                }

                n += TrackDescriptor(d[n..], 1, 0, msf);
                break;
            default:
                // Full TOC, PMA, ATIP and CD-TEXT are not there: a pressed data disc has nothing to tell in them.
                return CommandOutcome.InvalidFieldInCdb(formatByte, formatByte == 2 ? 3 : 7);
        }

        BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)(n - 2));
        command.WriteResponse(d[..n]);
        return CommandOutcome.Good;
    }

    private static int TrackDescriptor(Span<byte> d, byte track, long lba, bool msf)
    {
        d[..8].Clear();
        d[1] = AdrControlDataTrack;
        d[2] = track;
        if (msf)
        {
            WriteMsf(d[4..], lba);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(d[4..], (uint)Math.Min(lba, uint.MaxValue));
        }

        return 8;
    }

    // Reserved, M, S, F of an LBA. Minutes beyond 255 (an image of more than about 2.2 GB) do not fit: the address is
    // then the largest MSF, FFh:3Bh:4Ah.
    private static void WriteMsf(Span<byte> d, long lba)
    {
        long frames = lba + MsfOffset;
        long minutes = frames / (60 * 75);
        d[0] = 0;
        if (minutes > 0xFF)
        {
            d[1] = 0xFF;
            d[2] = 59;
            d[3] = 74;
            return;
        }

        d[1] = (byte)minutes;
        d[2] = (byte)(frames / 75 % 60);
        d[3] = (byte)(frames % 75);
    }

    // GET CONFIGURATION: byte 1 RT (bits 1-0: 00b every feature from STARTING FEATURE NUMBER on, 01b the current ones,
    // 10b the one named); bytes 2-3 STARTING FEATURE NUMBER; bytes 7-8 ALLOCATION LENGTH. Response: bytes 0-3 DATA LENGTH
    // (n - 3, the whole answer even when the allocation cuts it), bytes 6-7 CURRENT PROFILE, then feature descriptors:
    // bytes 0-1 FEATURE CODE, byte 2 VERSION (5-2), PERSISTENT (1), CURRENT (0), byte 3 ADDITIONAL LENGTH.
    private static CommandOutcome GetConfiguration(ScsiCommand command, bool present)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        int requestType = cdb[1] & 0x03;
        if (requestType == 3)
        {
            return CommandOutcome.InvalidFieldInCdb(1, 1);
        }

        ushort start = BinaryPrimitives.ReadUInt16BigEndian(cdb[2..]);
        Span<byte> d = stackalloc byte[64];
        d.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(d[6..], present ? CdRomProfile : (ushort)0);
        int n = 8;

        // 0000h Profile List: one profile descriptor, CD-ROM, CURRENTP while a medium is in the drive.
        if (Wanted(0x0000, current: true))
        {
            n += FeatureHeader(d[n..], 0x0000, version: 0, persistent: true, current: true, length: 4);
            BinaryPrimitives.WriteUInt16BigEndian(d[n..], CdRomProfile);
            d[n + 2] = present ? (byte)0x01 : (byte)0;
            n += 4;
        }

        // 0001h Core: PHYSICAL INTERFACE STANDARD 1 (SCSI family); no INQ2, no device busy events (DBE 0).
        if (Wanted(0x0001, current: true))
        {
            n += FeatureHeader(d[n..], 0x0001, version: 1, persistent: true, current: true, length: 8);
            BinaryPrimitives.WriteUInt32BigEndian(d[n..], 1);
            n += 8;
        }

        // 0002h Morphing: events are polled (ASYNC 0), no operational change events (OCEVENT 0).
        if (Wanted(0x0002, current: true))
        {
            n += FeatureHeader(d[n..], 0x0002, version: 1, persistent: true, current: true, length: 4);
            n += 4;
        }

        // 0003h Removable Medium: a tray (LOADING MECHANISM TYPE 001b) that ejects (EJECT) and locks (LOCK: PREVENT ALLOW
        // MEDIUM REMOVAL holds it).
        if (Wanted(0x0003, current: true))
        {
            n += FeatureHeader(d[n..], 0x0003, version: 0, persistent: true, current: true, length: 4);
            d[n] = 0x20 | 0x08 | 0x01;
            n += 4;
        }

        // 0010h Random Readable: 2048-byte blocks, BLOCKING 1, no page present bit; current while a medium is there.
        if (Wanted(0x0010, current: present))
        {
            n += FeatureHeader(d[n..], 0x0010, version: 0, persistent: false, current: present, length: 8);
            BinaryPrimitives.WriteUInt32BigEndian(d[n..], IsoImage.SectorSize);
            BinaryPrimitives.WriteUInt16BigEndian(d[(n + 4)..], 1);
            n += 8;
        }

        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)(n - 4));
        command.WriteResponse(d[..n]);
        return CommandOutcome.Good;

        bool Wanted(ushort feature, bool current) => requestType switch
        {
            0 => feature >= start,
            1 => feature >= start && current,
            _ => feature == start,
        };
    }

    private static int FeatureHeader(Span<byte> d, ushort feature, int version, bool persistent, bool current, byte length)
    {
        d[..(4 + length)].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(d, feature);
        d[2] = (byte)((version << 2) | (persistent ? 0x02 : 0) | (current ? 0x01 : 0));
        d[3] = length;
        return 4;
    }

    // GET EVENT STATUS NOTIFICATION: byte 1 POLLED (bit 0: asynchronous operation is not supported); byte 4
    // NOTIFICATION CLASS REQUEST; bytes 7-8 ALLOCATION LENGTH. Response: bytes 0-1 EVENT DESCRIPTOR LENGTH (n - 1),
    // byte 2 NEA (7) and NOTIFICATION CLASS (2-0), byte 3 SUPPORTED EVENT CLASSES; for the media class a descriptor of
    // MEDIA EVENT CODE (byte 0, bits 3-0), MEDIA STATUS (byte 1: MEDIA PRESENT (1), DOOR OR TRAY OPEN (0)), START and
    // END SLOT. A nexus takes an event when the answer carries it whole.
    private CommandOutcome GetEventStatusNotification(ScsiCommand command)
    {
        ReadOnlySpan<byte> cdb = command.Cdb;
        if ((cdb[1] & 0x01) == 0)
        {
            return CommandOutcome.InvalidFieldInCdb(1, 0);
        }

        Span<byte> d = stackalloc byte[8];
        d.Clear();
        d[3] = MediaClassBit;
        if ((cdb[4] & MediaClassBit) == 0)
        {
            // No class this drive reports was asked for: the header alone, with NO EVENT AVAILABLE.
            BinaryPrimitives.WriteUInt16BigEndian(d, 2);
            d[2] = 0x80;
            command.WriteResponse(d[..4]);
            return CommandOutcome.Good;
        }

        bool trayOpen = _trayOpen;
        bool present = !trayOpen && Volatile.Read(ref _image) is not null;
        BinaryPrimitives.WriteUInt16BigEndian(d, 6);
        d[2] = MediaClass;
        d[4] = TakeMediaEvent(command.Session, consume: command.Data.Length >= d.Length);
        d[5] = (byte)((present ? 0x02 : 0) | (trayOpen ? 0x01 : 0));
        command.WriteResponse(d);
        return CommandOutcome.Good;
    }

    // READ DISC INFORMATION: byte 1 DATA TYPE (bits 2-0; only 000b, standard disc information); bytes 7-8 ALLOCATION
    // LENGTH. Standard disc information of a finalized single-session CD-ROM: DISC INFORMATION LENGTH 32; not erasable,
    // last session complete, disc complete; first track 1, one session whose first and last track is 1; unrestricted
    // use; disc type 00h (CD-DA or CD-ROM); no identification, bar code or application code; the lead-in and last
    // possible lead-out addresses FFFFFFFFh (a complete disc has no room left); no OPC tables.
    private static CommandOutcome ReadDiscInformation(ScsiCommand command)
    {
        if ((command.Cdb[1] & 0x07) != 0)
        {
            // Track resources and POW resources describe recordable media.
            return CommandOutcome.InvalidFieldInCdb(1, 2);
        }

        Span<byte> d = stackalloc byte[34];
        d.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)(d.Length - 2));
        d[2] = 0x0E;
        d[3] = 1;
        d[4] = 1;
        d[5] = 1;
        d[6] = 1;
        d[7] = 0x20;
        BinaryPrimitives.WriteUInt32BigEndian(d[16..], uint.MaxValue);
        BinaryPrimitives.WriteUInt32BigEndian(d[20..], uint.MaxValue);
        command.WriteResponse(d);
        return CommandOutcome.Good;
    }

    // MECHANISM STATUS: bytes 8-9 ALLOCATION LENGTH. Response header: byte 0 FAULT (7), CHANGER STATE (6-5), CURRENT SLOT;
    // byte 1 MECHANISM STATE (7-5, 000b idle), DOOR OPEN (4); bytes 2-4 CURRENT LBA; byte 5 NUMBER OF SLOTS AVAILABLE;
    // bytes 6-7 LENGTH OF SLOT TABLES. Not a changer: no slots and no slot tables.
    private CommandOutcome MechanismStatus(ScsiCommand command)
    {
        Span<byte> d = stackalloc byte[8];
        d.Clear();
        d[1] = _trayOpen ? (byte)0x10 : (byte)0;
        command.WriteResponse(d);
        return CommandOutcome.Good;
    }
}
