// Licensed under the Apache License, Version 2.0.

using Scst.Core;

namespace Scst.Core.Tests;

public sealed class SubmissionBatchTests
{
    private sealed class Participant : ISubmissionBatchParticipant
    {
        public int Flushes { get; private set; }

        public void FlushBatch() => Flushes++;
    }

    [Fact]
    public void Join_WithNoBatchOpen_SaysSendNow()
    {
        var p = new Participant();

        SubmissionBatch.IsOpen.Should().BeFalse();
        SubmissionBatch.Join(p).Should().BeFalse();
        p.Flushes.Should().Be(0);
    }

    [Fact]
    public void ClosingABatch_FlushesEachParticipantOnce_AndOnlyTheOutermostScopeFlushes()
    {
        var p = new Participant();
        var q = new Participant();

        using (SubmissionBatch.Open())
        {
            SubmissionBatch.Join(p).Should().BeTrue();
            using (SubmissionBatch.Open())
            {
                SubmissionBatch.Join(p).Should().BeTrue();
                SubmissionBatch.Join(q).Should().BeTrue();
            }

            p.Flushes.Should().Be(0, "the inner scope joined the outer batch");
            SubmissionBatch.IsOpen.Should().BeTrue();
        }

        p.Flushes.Should().Be(1);
        q.Flushes.Should().Be(1);
        SubmissionBatch.IsOpen.Should().BeFalse();

        using (SubmissionBatch.Open())
        {
            SubmissionBatch.Join(q);
        }

        p.Flushes.Should().Be(1, "a participant flushes only for batches it joined");
        q.Flushes.Should().Be(2);
    }

    private sealed class Throwing : ISubmissionBatchParticipant
    {
        public void FlushBatch() => throw new InvalidOperationException("broken participant");
    }

    [Fact]
    public void AParticipantThatThrows_DoesNotKeepTheOthersFromFlushing_AndTheNextBatchStartsEmpty()
    {
        var before = new Participant();
        var after = new Participant();

        Action close = () =>
        {
            using (SubmissionBatch.Open())
            {
                SubmissionBatch.Join(before);
                SubmissionBatch.Join(new Throwing());
                SubmissionBatch.Join(after);
            }
        };

        close.Should().Throw<InvalidOperationException>().WithMessage("broken participant");
        before.Flushes.Should().Be(1);
        after.Flushes.Should().Be(1);
        SubmissionBatch.IsOpen.Should().BeFalse();
        using (SubmissionBatch.Open())
        {
            SubmissionBatch.Join(after);
        }

        after.Flushes.Should().Be(2);
        before.Flushes.Should().Be(1);
    }

    [Fact]
    public void ABatch_BelongsToTheThreadThatOpenedIt()
    {
        var p = new Participant();
        bool joinedElsewhere = true;
        using (SubmissionBatch.Open())
        {
            var other = new Thread(() => joinedElsewhere = SubmissionBatch.Join(p));
            other.Start();
            other.Join();
        }

        joinedElsewhere.Should().BeFalse();
        p.Flushes.Should().Be(0);
    }
}
