using NUnit.Framework;
using RatingPipeline.Sender.Rendering;

namespace RatingPipeline.Tests.Sender;

[TestFixture]
[Category("sender")]
public sealed class FiguresTests
{
    [TestCase(150_000, "0.15")]
    [TestCase(2_990_000, "2.99")]
    [TestCase(5_000, "0.01")] // exactly half a cent rounds up
    [TestCase(4_999, "0.00")]
    [TestCase(0, "0.00")]
    [TestCase(100_000_000, "100.00")]
    [TestCase(-5_000, "-0.01")] // negative half rounds away from zero
    [TestCase(-4_999, "0.00")] // rounds to zero: no minus sign
    [TestCase(-1_234_567, "-1.23")]
    public void Micros_are_shown_as_yuan_with_two_decimals_half_up(long micros, string expected) =>
        Assert.That(Figures.Yuan(micros), Is.EqualTo(expected));

    [TestCase("voice", 2_990_000, 60, "2.99 yuan/min")]
    [TestCase("voice", 2_500, 1, "0.15 yuan/min")] // per second → per minute
    [TestCase("voice", 15_000, 6, "0.15 yuan/min")]
    [TestCase("voice", 100_000, 30, "0.20 yuan/min")]
    [TestCase("sms", 100_000, 1, "0.10 yuan/message")]
    [TestCase("data", 290_000, 1_048_576, "0.29 yuan/MB")]
    [TestCase("data", 5_000, 1_024, "5.12 yuan/MB")] // per KB → per MB
    public void Prices_are_shown_per_minute_message_or_megabyte(string type, long price, long unit, string expected) =>
        Assert.That(Figures.Price(type, price, unit, "en"), Is.EqualTo(expected));

    [TestCase("voice", 4_800, "80 min")]
    [TestCase("voice", 4_830, "80.5 min")]
    [TestCase("voice", 61, "1.02 min")]
    [TestCase("sms", 1, "1 message")]
    [TestCase("sms", 80, "80 messages")]
    [TestCase("data", 1_572_864, "1.5 MB")]
    [TestCase("data", 1_073_741_824, "1 GB")]
    [TestCase("data", 8_600_000_000, "8.01 GB")]
    public void Volumes_are_shown_in_minutes_messages_and_megabytes_or_gigabytes(string type, long amount, string expected) =>
        Assert.That(Figures.Volume(type, amount, "en"), Is.EqualTo(expected));

    [Test]
    public void Chinese_figures_use_chinese_units() =>
        Assert.Multiple(() =>
        {
            Assert.That(Figures.Money(150_000, "zh"), Is.EqualTo("0.15元"));
            Assert.That(Figures.Price("voice", 2_990_000, 60, "zh"), Is.EqualTo("2.99元/分钟"));
            Assert.That(Figures.Volume("sms", 80, "zh"), Is.EqualTo("80条"));
            Assert.That(Figures.Volume("voice", 6_000, "zh"), Is.EqualTo("100分钟"));
        });

    [TestCase(160, 'a', true, 1)]
    [TestCase(161, 'a', true, 2)] // beyond one segment: 153 per segment
    [TestCase(306, 'a', true, 2)]
    [TestCase(307, 'a', true, 3)]
    [TestCase(80, '€', true, 1)] // extension characters take two septets
    [TestCase(81, '€', true, 2)]
    [TestCase(70, '中', false, 1)]
    [TestCase(71, '中', false, 2)] // beyond one segment: 67 per segment
    [TestCase(134, '中', false, 2)]
    [TestCase(135, '中', false, 3)]
    public void Sms_segments_follow_gsm7_and_ucs2_limits(int count, char c, bool gsm7, int segments)
    {
        var length = SmsSegments.Measure(new string(c, count));
        Assert.That((length.Gsm7, length.Segments), Is.EqualTo((gsm7, segments)));
    }
}
