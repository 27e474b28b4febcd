using NUnit.Framework;
using RatingPipeline.Time;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// The calendar behind every instant, cycle and date in the records: the month-start table used for the years
/// 1900–2299 gives the same dates and day numbers as the arithmetic it was built from, at its edges and beyond them.
/// </summary>
[TestFixture]
public sealed class CalendarTests
{
    [Test]
    public void Every_day_from_1800_to_2400_converts_both_ways_as_the_arithmetic_does()
    {
        var first = Instant.DaysFromCivilComputed(1800, 1, 1);
        var last = Instant.DaysFromCivilComputed(2400, 12, 31);
        var checkedDays = 0;
        for (var day = first; day <= last; day++)
        {
            var expected = Instant.CivilFromDaysComputed(day);
            var actual = Instant.CivilFromDays(day);
            if (actual != expected)
            {
                Assert.Fail($"day {day}: {actual} from the table, {expected} computed");
            }

            var back = Instant.DaysFromCivil(actual.Year, actual.Month, actual.Day);
            if (back != day)
            {
                Assert.Fail($"{actual}: day {back} from the table, {day} expected");
            }

            checkedDays++;
        }

        Assert.That(checkedDays, Is.EqualTo(last - first + 1));
    }

    [TestCase(1899, 12, 31)]
    [TestCase(1900, 1, 1)]
    [TestCase(1900, 2, 28)]
    [TestCase(1900, 3, 1)] // 1900 is not a leap year
    [TestCase(1970, 1, 1)]
    [TestCase(2000, 2, 29)] // 2000 is
    [TestCase(2026, 12, 31)]
    [TestCase(2299, 12, 31)]
    [TestCase(2300, 1, 1)]
    [TestCase(0, 1, 1)]
    [TestCase(-1, 12, 31)]
    [TestCase(9999, 12, 31)]
    [TestCase(10000, 2, 29)]
    public void A_date_at_or_beyond_the_tables_edges_round_trips(int year, int month, int day)
    {
        var number = Instant.DaysFromCivil(year, month, day);
        Assert.Multiple(() =>
        {
            Assert.That(number, Is.EqualTo(Instant.DaysFromCivilComputed(year, month, day)));
            Assert.That(Instant.CivilFromDays(number), Is.EqualTo((year, month, day)));
        });
    }

    [Test]
    public void The_epoch_is_day_zero_and_the_day_before_it_is_minus_one()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Instant.DaysFromCivil(1970, 1, 1), Is.EqualTo(0));
            Assert.That(Instant.CivilFromDays(-1), Is.EqualTo((1969, 12, 31)));
        });
    }
}
