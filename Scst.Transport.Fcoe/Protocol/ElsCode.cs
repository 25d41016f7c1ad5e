// Licensed under the Apache License, Version 2.0.

namespace Scst.Transport.Fcoe.Protocol;

/// <summary>Extended link service command codes (FC-LS-3 table 11): the first byte of an ELS payload.</summary>
internal static class ElsCode
{
    /// <summary>LS_RJT: link service reject.</summary>
    public const byte LsRjt = 0x01;

    /// <summary>LS_ACC: link service accept.</summary>
    public const byte LsAcc = 0x02;

    /// <summary>PLOGI: N_Port login.</summary>
    public const byte Plogi = 0x03;

    /// <summary>FLOGI: fabric login (also point-to-point and VN2VN).</summary>
    public const byte Flogi = 0x04;

    /// <summary>LOGO: logout.</summary>
    public const byte Logo = 0x05;

    /// <summary>RTV: read timeout value.</summary>
    public const byte Rtv = 0x0E;

    /// <summary>RLS: read link error status block.</summary>
    public const byte Rls = 0x0F;

    /// <summary>ECHO.</summary>
    public const byte Echo = 0x10;

    /// <summary>RRQ: reinstate recovery qualifier.</summary>
    public const byte Rrq = 0x12;

    /// <summary>REC: read exchange concise (an FC-4 link service of FCP, R_CTL 0x32).</summary>
    public const byte Rec = 0x13;

    /// <summary>SRR: sequence retransmission request (an FC-4 link service of FCP, R_CTL 0x32).</summary>
    public const byte Srr = 0x14;

    /// <summary>PRLI: process login.</summary>
    public const byte Prli = 0x20;

    /// <summary>PRLO: process logout.</summary>
    public const byte Prlo = 0x21;

    /// <summary>TPRLO: third party process logout.</summary>
    public const byte Tprlo = 0x24;

    /// <summary>PDISC: discover N_Port service parameters.</summary>
    public const byte Pdisc = 0x50;

    /// <summary>FDISC: discover F_Port service parameters (NPIV login).</summary>
    public const byte Fdisc = 0x51;

    /// <summary>ADISC: discover address.</summary>
    public const byte Adisc = 0x52;

    /// <summary>RSCN: registered state change notification.</summary>
    public const byte Rscn = 0x61;

    /// <summary>SCR: state change registration.</summary>
    public const byte Scr = 0x62;

    /// <summary>RNID: request node identification data.</summary>
    public const byte Rnid = 0x78;
}

/// <summary>Small ELS helpers shared by the payload codecs.</summary>
internal static class Els
{
    /// <summary>Bytes of the command word (code and 3 reserved bytes).</summary>
    public const int CommandLength = 4;

    /// <summary>The command code of an ELS payload; false for an empty payload.</summary>
    public static bool TryReadCode(ReadOnlySpan<byte> payload, out byte code)
    {
        code = payload.IsEmpty ? (byte)0 : payload[0];
        return !payload.IsEmpty;
    }

    /// <summary>Writes a bare command word: <paramref name="code"/> and three zero bytes (an RTV request, a plain LS_ACC).</summary>
    public static int WriteCommand(Span<byte> destination, byte code)
    {
        WireFormat.EnsureLength(destination, CommandLength);
        destination[..CommandLength].Clear();
        destination[0] = code;
        return CommandLength;
    }

    /// <summary>A 4-byte LS_ACC with no body (the answer to LOGO, PRLO without pages, SCR).</summary>
    public static int WriteAccept(Span<byte> destination) => WriteCommand(destination, ElsCode.LsAcc);

    // Writes the command word and clears the body; returns the payload span.
    internal static Span<byte> Begin(Span<byte> destination, byte code, int length)
    {
        WireFormat.EnsureLength(destination, length);
        var payload = destination[..length];
        payload.Clear();
        payload[0] = code;
        return payload;
    }
}
