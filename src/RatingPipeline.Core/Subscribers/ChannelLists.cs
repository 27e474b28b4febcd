namespace RatingPipeline.Subscribers;

/// <summary>
/// The channel lists a profile can name (each of <c>sms</c>, <c>email</c>, <c>voice</c> at most once, in the order
/// given: 15 lists), made once and shared read-only by every profile instead of a list per profile.
/// </summary>
internal static class ChannelLists
{
    private static readonly string[] Names = ["sms", "email", "voice"];

    // Indexed by the order code: base 4, one digit per channel in the order given, digit = channel + 1.
    private static readonly IReadOnlyList<string>?[] ByOrder = Build();

    /// <summary>The default, <c>["sms"]</c>.</summary>
    public static IReadOnlyList<string> Default { get; } = ByOrder[1]!;

    /// <summary>The list of an order code (see <see cref="ProfileReader"/>).</summary>
    public static IReadOnlyList<string> Of(int order) => ByOrder[order] ?? throw new ArgumentOutOfRangeException(nameof(order));

    private static IReadOnlyList<string>?[] Build()
    {
        var lists = new IReadOnlyList<string>?[64];
        for (var code = 1; code < 64; code++)
        {
            var channels = new List<string>();
            var used = 0;
            var valid = true;
            for (var rest = code; rest > 0 && valid; rest /= 4)
            {
                var channel = (rest % 4) - 1;
                valid = channel >= 0 && (used & (1 << channel)) == 0;
                used |= channel >= 0 ? 1 << channel : 0;
                channels.Insert(0, channel >= 0 ? Names[channel] : "");
            }

            lists[code] = valid ? channels.AsReadOnly() : null;
        }

        return lists;
    }
}
