using System.Globalization;
using System.Runtime.InteropServices;
using NUnit.Framework;
using RatingPipeline.Memory;

namespace RatingPipeline.Tests.Memory;

/// <summary>
/// <see cref="HugePages"/>: the kernel's setting is read from its bracketed word; the range marked is the run of
/// adjacent anonymous mappings that holds the collector's objects (not a file, not a mapping past a gap); and on Linux
/// with the setting at <c>madvise</c> the heap really carries the kernel's huge-page mark afterwards (its <c>hg</c> flag
/// in <c>/proc/self/smaps</c>).
/// </summary>
[TestFixture]
public sealed class HugePagesTests
{
    [TestCase("always [madvise] never\n", "madvise")]
    [TestCase("[always] madvise never", "always")]
    [TestCase("always madvise [never]\n", "never")]
    [TestCase("always madvise never", null)]
    [TestCase("", null)]
    public void The_setting_is_the_bracketed_word(string text, string? expected) =>
        Assert.That(HugePages.SelectedWord(text), Is.EqualTo(expected));

    [Test]
    public void A_mappings_line_gives_its_range_and_whether_it_maps_no_file_named_or_not()
    {
        Assert.Multiple(() =>
        {
            Assert.That(HugePages.Mapping.Parse("7f7ae9329000-7f7ae94b0000 rw-p 00000000 00:00 0 "),
                Is.EqualTo(new HugePages.Mapping(0x7f7ae9329000, 0x7f7ae94b0000, true)));
            Assert.That(HugePages.Mapping.Parse("7f7ae94b0000-7f86b1f98000 ---p 00000000 00:00 0"),
                Is.EqualTo(new HugePages.Mapping(0x7f7ae94b0000, 0x7f86b1f98000, true)));
            Assert.That(HugePages.Mapping.Parse("555946a99000-555946d7b000 r-xp 00004000 00:1a 4421                       /opt/app/ratingctl").Anonymous, Is.False);
            Assert.That(HugePages.Mapping.Parse("7ffc1c3a5000-7ffc1c3c6000 rw-p 00000000 00:00 0                          [stack]").Anonymous, Is.False);
            Assert.That(HugePages.Mapping.Parse("7fa54de00000-7fa54e600000 rw-p 00000000 00:00 0                          [anon:named heap]").Anonymous, Is.True,
                "anonymous memory a program named");
            Assert.That(() => HugePages.Mapping.Parse("not a mapping"), Throws.InstanceOf<FormatException>());
        });
    }

    [Test]
    public void The_runs_marked_are_the_adjacent_anonymous_mappings_that_hold_a_probe_each_once()
    {
        HugePages.Mapping[] maps =
        [
            new(0x1000, 0x2000, false), // the program's file
            new(0x2000, 0x3000, true), // adjacent to a file: a run of its own
            new(0x10000, 0x20000, true), // the heap: three mappings end to end
            new(0x20000, 0x30000, true),
            new(0x30000, 0x90000, true),
            new(0x91000, 0x99000, true), // past a gap: another run
            new(0x99000, 0xa0000, false), // a library
        ];

        Assert.Multiple(() =>
        {
            Assert.That(HugePages.HeapRuns(maps, [0x18000, 0x20000, 0x8ffff]), Is.EqualTo(new[] { (0x10000UL, 0x90000UL) }));
            Assert.That(HugePages.HeapRuns(maps, [0x2800, 0x95000]), Is.EqualTo(new[] { (0x2000UL, 0x3000UL), (0x91000UL, 0x99000UL) }));
            Assert.That(HugePages.HeapRuns(maps, [0x1800, 0x90000, 0x99100, 0xa0000]), Is.Empty, "in a file, in a gap, past the end");
        });
    }

    [Test]
    public void On_linux_the_heap_carries_the_huge_page_mark_where_the_kernel_leaves_it_to_the_program()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("transparent huge pages are Linux's");
        }

        // An object of the heap from before the advice, held in place, so that its mapping can be looked up afterwards.
        var held = GCHandle.Alloc(new byte[256 * 1024], GCHandleType.Pinned);
        try
        {
            var setting = HugePages.Setting();
            var advice = HugePages.AdviseCollectorHeap();
            Assert.That(advice, Is.EqualTo(setting switch
            {
                "madvise" => HugePageAdvice.Advised,
                "always" => HugePageAdvice.AlreadyAlways,
                _ => HugePageAdvice.Unavailable,
            }), $"the kernel's setting: {setting ?? "none"}");
            if (advice != HugePageAdvice.Advised)
            {
                Assert.Ignore($"the kernel's setting is {setting ?? "absent"}: nothing to mark");
            }

            Assert.That(VmFlagsAt((ulong)held.AddrOfPinnedObject()), Does.Contain(" hg"), "the heap's mapping is marked for huge pages");
        }
        finally
        {
            held.Free();
        }
    }

    /// <summary>The <c>VmFlags</c> line of the mapping in <c>/proc/self/smaps</c> that holds <paramref name="address"/>.</summary>
    private static string VmFlagsAt(ulong address)
    {
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end))
            {
                inside = address >= start && address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new AssertionException($"no mapping holds 0x{address:x}");
    }
}
