using System.Text;
using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Tariffs;

/// <summary>
/// SPEC §3: a tariff that breaks a rule is refused with a message naming the JSON path of the bad element.
/// Each row changes one piece of a valid tariff (written with ' for "); the change must be in the base.
/// </summary>
[TestFixture]
public sealed class TariffLoaderTests
{
    private const string Base = """
        {'version':'t1','currency':'CNY','utcOffset':'+08:00','homeMcc':['460'],
         'zones':{'HMT':['454','455'],'Z1':['440']},'defaultRoamingZone':'ROW',
         'zeroRated':[{'pattern':'10086','types':['sms','voice'],'from':'2010-01-01T00:00:00+08:00','reason':'cs'}],
         'plans':{'p':{'allowances':{'voiceSec':600,'smsCount':20,'dataBytes':1000},'reminderThresholds':[80,100],
           'highSpendThreshold':1000,'lowBalanceThreshold':500,'dataCapTiers':[100,200],'defaultDataCap':100,
           'rates':[{'type':'voice','zone':'domestic','direction':'mo','dest':'national','useAllowance':true,'firstIncrement':60,'increment':60,'unit':60,'price':150000},
                    {'type':'sms','zone':'*','direction':'mo','dest':'*','unit':1,'increment':1,'price':100000},
                    {'type':'data','zone':'domestic','capped':true,'unit':1048576,'increment':1024,'price':290000},
                    {'type':'voice','zone':'*','direction':'*','dest':'*','unit':60,'increment':60,'price':2990000}]}}}
        """;

    private static byte[] Mutated(string find, string replace)
    {
        var text = Base;
        Assert.That(text, Does.Contain(find), "the row's change must apply to the base tariff");
        return Encoding.UTF8.GetBytes(text.Replace(find, replace, StringComparison.Ordinal).Replace('\'', '"'));
    }

    [Test]
    public void The_base_tariff_loads()
    {
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(Base.Replace('\'', '"')));
        Assert.Multiple(() =>
        {
            Assert.That(tariff.Version, Is.EqualTo("t1"));
            Assert.That(tariff.UtcOffsetTicks, Is.EqualTo(8 * Time.Instant.TicksPerHour));
            Assert.That(tariff.TryGetPlan("p", out var plan), Is.True);
            Assert.That(plan.Rates, Has.Count.EqualTo(4));
            // Defaults: firstIncrement = increment, useAllowance = false, capped = false.
            Assert.That((plan.Rates[1].FirstIncrement, plan.Rates[1].UseAllowance, plan.Rates[1].Capped), Is.EqualTo((1L, false, false)));
            Assert.That((plan.Rates[2].FirstIncrement, plan.Rates[2].Capped), Is.EqualTo((1024L, true)));
            Assert.That(plan.DefaultDataCap, Is.EqualTo(100));
        });
    }

    [Test]
    public void The_worked_example_tariff_loads()
    {
        var tariff = TariffLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Examples", "basic", "tariff.json"));
        Assert.Multiple(() =>
        {
            Assert.That(tariff.Version, Is.EqualTo("2026-11-01.1"));
            Assert.That(tariff.Plans.Keys, Is.EquivalentTo(new[] { "basic-58", "mini-18", "unl-data", "biz-400" }));
            Assert.That(tariff.ZeroRating.Rules, Has.Count.EqualTo(4));
            Assert.That(tariff.ZoneIds, Does.Contain("HMT").And.Contain("Z1").And.Contain("ROW").And.Contain("domestic"));
            Assert.That(tariff.Plans["mini-18"].Allowance(CdrType.Data), Is.EqualTo(314_572_800));
        });
    }

    // Rate numbers
    [TestCase("'unit':60,'increment':60,'price':2990000", "'unit':60,'increment':0,'price':2990000", "plans.p.rates[3].increment")] // increment 0
    [TestCase("'unit':60,'increment':60,'price':2990000", "'unit':60,'increment':-60,'price':2990000", "plans.p.rates[3].increment")] // negative increment
    [TestCase("'unit':60,'increment':60,'price':2990000", "'unit':0,'increment':60,'price':2990000", "plans.p.rates[3].unit")] // unit 0
    [TestCase("'firstIncrement':60,", "'firstIncrement':0,", "plans.p.rates[0].firstIncrement")] // firstIncrement 0
    [TestCase("'price':150000", "'price':1000000001", "plans.p.rates[0].price")] // price above 10^9
    [TestCase("'price':150000", "'price':-1", "plans.p.rates[0].price")] // negative price
    [TestCase("'price':150000", "'price':1.5", "plans.p.rates[0].price")] // a fractional price
    [TestCase("'price':150000", "'price':15e4", "plans.p.rates[0].price")] // an exponent, though integral
    [TestCase("'price':150000", "'price':'150000'", "plans.p.rates[0].price")] // price as a string
    [TestCase("'price':150000", "'price':null", "plans.p.rates[0].price")] // price null is absent, and it is required
    [TestCase("'unit':1,'increment':1,'price':100000", "'increment':1,'price':100000", "plans.p.rates[1].unit")] // unit missing
    [TestCase("'unit':1,'increment':1,'price':100000", "'unit':1,'price':100000", "plans.p.rates[1].increment")] // increment missing
    [TestCase("'unit':1,'increment':1,'price':100000", "'unit':1,'increment':1", "plans.p.rates[1].price")] // price missing
    [TestCase("'useAllowance':true", "'useAllowance':'yes'", "plans.p.rates[0].useAllowance")] // a string for a boolean
    [TestCase("'capped':true", "'capped':1", "plans.p.rates[2].capped")] // a number for a boolean
    [TestCase("{'type':'voice','zone':'domestic'", "{'type':'fax','zone':'domestic'", "plans.p.rates[0].type")] // unknown type
    [TestCase("'direction':'mo','dest':'national'", "'direction':'in','dest':'national'", "plans.p.rates[0].direction")] // unknown direction
    [TestCase("'direction':'mo','dest':'national'", "'direction':'mo','dest':'abroad'", "plans.p.rates[0].dest")] // unknown dest
    [TestCase("{'type':'sms','zone':'*'", "{'type':5,'zone':'*'", "plans.p.rates[1].type")] // type as a number
    [TestCase("{'type':'sms','zone':'*'", "'rate',{'type':'sms','zone':'*'", "plans.p.rates[1]")] // a rate that is not an object
    // Charges beyond 10^15 micros for one CDR (B at its range limit)
    [TestCase("'type':'data','zone':'domestic','capped':true,'unit':1048576,'increment':1024,'price':290000", "'type':'data','zone':'domestic','unit':1,'increment':1,'price':1001", "plans.p.rates[2]")] // 10^12 bytes × 1001 = 1.001 × 10^15
    [TestCase("'type':'voice','zone':'*','direction':'*','dest':'*','unit':60,'increment':60,'price':2990000", "'type':'*','zone':'*','direction':'*','dest':'*','unit':60,'increment':60,'price':2990000", "plans.p.rates[3]")] // "*" includes data: 10^12 bytes × 2990000 / 60 ≈ 5 × 10^16
    [TestCase("'type':'voice','zone':'*','direction':'*','dest':'*','unit':60,'increment':60,'price':2990000", "'zone':'*','direction':'*','dest':'*','unit':1,'increment':1,'price':1001", "plans.p.rates[3]")] // an absent type is "*" too
    [TestCase("'firstIncrement':60,'increment':60,'unit':60,'price':150000", "'firstIncrement':10000000,'increment':60,'unit':1,'price':1000000000", "plans.p.rates[0]")] // voice: B = 10^7 for any call, × 10^9 = 10^16
    // Rate lists and plans
    [TestCase("'rates':[{'type':'voice'", "'rates':[],'x':[{'type':'voice'", "plans.p.rates")] // empty rates
    [TestCase("'rates':[{'type':'voice'", "'rates':{},'x':[{'type':'voice'", "plans.p.rates")] // rates as an object
    [TestCase("'rates':[{'type':'voice'", "'x':[{'type':'voice'", "plans.p.rates")] // no rates
    [TestCase("'defaultDataCap':100", "'defaultDataCap':150", "plans.p.defaultDataCap")] // not one of dataCapTiers
    [TestCase("'dataCapTiers':[100,200],'defaultDataCap':100", "'defaultDataCap':100", "plans.p.defaultDataCap")] // no tiers at all
    [TestCase("'dataCapTiers':[100,200]", "'dataCapTiers':[100,2.5]", "plans.p.dataCapTiers[1]")] // a fractional tier
    [TestCase("'dataCapTiers':[100,200]", "'dataCapTiers':100", "plans.p.dataCapTiers")] // tiers not an array
    [TestCase("'voiceSec':600", "'voiceSec':1.5", "plans.p.allowances.voiceSec")] // a fractional allowance
    [TestCase("'voiceSec':600", "'voiceSec':-1", "plans.p.allowances.voiceSec")] // a negative allowance
    [TestCase("'smsCount':20", "'smsCount':'20'", "plans.p.allowances.smsCount")] // allowance as a string
    [TestCase("'allowances':{", "'allowances':[],'x':{", "plans.p.allowances")] // allowances not an object
    [TestCase("'reminderThresholds':[80,100]", "'reminderThresholds':[80,'100']", "plans.p.reminderThresholds[1]")] // a threshold as a string
    [TestCase("'reminderThresholds':[80,100]", "'reminderThresholds':[80.5]", "plans.p.reminderThresholds[0]")] // a fractional threshold
    [TestCase("'highSpendThreshold':1000", "'highSpendThreshold':'1000'", "plans.p.highSpendThreshold")] // a string for micros
    [TestCase("'lowBalanceThreshold':500", "'lowBalanceThreshold':5e2", "plans.p.lowBalanceThreshold")] // an exponent
    [TestCase("'plans':{'p':{", "'plans':{'p':[],'q':{", "plans.p")] // a plan that is not an object
    [TestCase("'plans':{'p':{", "'plans':[],'x':{'p':{", "plans")] // plans as an array
    // Top level
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':'+24:00'", "utcOffset")] // offset hour 24
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':'+8:00'", "utcOffset")] // one-digit hour
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':'08:00'", "utcOffset")] // no sign
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':'+08:60'", "utcOffset")] // minute 60
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':'UTC'", "utcOffset")] // a name
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':8", "utcOffset")] // a number
    [TestCase("'utcOffset':'+08:00',", "", "utcOffset")] // missing
    [TestCase("'version':'t1',", "", "version")] // missing version
    [TestCase("'version':'t1'", "'version':1", "version")] // version as a number
    [TestCase("'homeMcc':['460']", "'homeMcc':'460'", "homeMcc")] // not an array
    [TestCase("'homeMcc':['460']", "'homeMcc':['46']", "homeMcc[0]")] // 2-digit MCC
    [TestCase("'homeMcc':['460']", "'homeMcc':[460]", "homeMcc[0]")] // a number for an MCC
    [TestCase("'zones':{'HMT':['454','455']", "'zones':{'HMT':['454','4550']", "zones.HMT[1]")] // 4-digit MCC
    [TestCase("'zones':{'HMT':['454','455']", "'zones':{'HMT':'454'", "zones.HMT")] // a zone that is not an array
    [TestCase("'zones':{'HMT':['454','455'],'Z1':['440']}", "'zones':[]", "zones")] // zones as an array
    [TestCase("'defaultRoamingZone':'ROW',", "", "defaultRoamingZone")] // missing
    // Zero-rating entries
    [TestCase("'pattern':'10086'", "'pattern':'10*86'", "zeroRated[0].pattern")] // * not at the end
    [TestCase("'pattern':'10086'", "'pattern':'+4477'", "zeroRated[0].pattern")] // a plus sign
    [TestCase("'pattern':'10086'", "'pattern':''", "zeroRated[0].pattern")] // empty
    [TestCase("'pattern':'10086'", "'pattern':'10a86'", "zeroRated[0].pattern")] // a letter other than x
    [TestCase("'pattern':'10086'", "'pattern':'1008X'", "zeroRated[0].pattern")] // capital X
    [TestCase("'pattern':'10086'", "'pattern':'1008**'", "zeroRated[0].pattern")] // two stars
    [TestCase("'pattern':'10086'", "'pattern':'100 86'", "zeroRated[0].pattern")] // a space
    [TestCase("'pattern':'10086'", "'pattern':10086", "zeroRated[0].pattern")] // a number
    [TestCase("'types':['sms','voice']", "'types':['sms','fax']", "zeroRated[0].types[1]")] // unknown type
    [TestCase("'types':['sms','voice']", "'types':'sms'", "zeroRated[0].types")] // not an array
    [TestCase("'from':'2010-01-01T00:00:00+08:00'", "'from':'2010-01-01'", "zeroRated[0].from")] // not an instant
    [TestCase("'from':'2010-01-01T00:00:00+08:00'", "'from':'2010-02-30T00:00:00+08:00'", "zeroRated[0].from")] // 30 February
    [TestCase("'from':'2010-01-01T00:00:00+08:00'", "'from':'2010-01-01T00:00:00+08:00','to':'2030-01-01T24:00:00Z'", "zeroRated[0].to")] // hour 24
    [TestCase("'reason':'cs'", "'reason':5", "zeroRated[0].reason")] // reason as a number
    [TestCase("'zeroRated':[{", "'zeroRated':{},'x':[{", "zeroRated")] // not an array
    // Member names given twice (at any depth) are named by their path
    [TestCase("'version':'t1',", "'version':'t1','version':'t2',", "version")] // at the top level
    [TestCase("'price':150000", "'price':150000,'price':1", "plans.p.rates[0].price")] // inside a rate
    [TestCase("'plans':{'p':{", "'plans':{'p':{},'p':{", "plans.p")] // a plan id twice
    [TestCase("'Z1':['440']", "'Z1':['440'],'Z1':['441']", "zones.Z1")] // a zone twice
    [TestCase("'reason':'cs'", "'reason':'cs','x':{'a':1,'a':2}", "zeroRated[0].x.a")] // inside an unknown member
    public void A_broken_rule_is_refused_with_the_path_of_the_bad_element(string find, string replace, string path)
    {
        var bytes = Mutated(find, replace);
        Assert.That(() => TariffLoader.Load(bytes), Throws.TypeOf<TariffException>().With.Message.StartsWith(path + ": "));
    }

    [TestCase("'price':150000", "'price':1000000000")] // price exactly 10^9
    [TestCase("'type':'data','zone':'domestic','capped':true,'unit':1048576,'increment':1024,'price':290000", "'type':'data','zone':'domestic','unit':1,'increment':1,'price':1000")] // 10^12 × 1000 = 10^15 exactly
    [TestCase("'type':'voice','zone':'domestic','direction':'mo','dest':'national','useAllowance':true,'firstIncrement':60,'increment':60,'unit':60,'price':150000", "'type':'voice','unit':1,'increment':1,'price':1001")] // 1001 per second only for voice: 86400 × 1001 ≪ 10^15
    [TestCase("'type':'voice','zone':'*','direction':'*','dest':'*','unit':60,'increment':60,'price':2990000", "'type':'*','zone':'*','direction':'mo','unit':1,'increment':1,'price':1001")] // "*" with a direction never rates data: voice at most 86400 × 1001
    [TestCase("'type':'voice','zone':'*','direction':'*','dest':'*','unit':60,'increment':60,'price':2990000", "'zone':'*','dest':'intl','unit':1,'increment':1,'price':1001")] // likewise with a dest
    [TestCase("'price':150000", "'price':0")] // a free rate
    [TestCase("'firstIncrement':60,", "")] // firstIncrement is optional
    [TestCase("'currency':'CNY',", "")] // currency is optional
    [TestCase("'zeroRated':[{'pattern':'10086','types':['sms','voice'],'from':'2010-01-01T00:00:00+08:00','reason':'cs'}],", "")] // no zeroRated
    [TestCase("'pattern':'10086'", "'pattern':'*'")] // a lone * matches any peer
    [TestCase("'pattern':'10086'", "'pattern':'xxxx*'")] // x and a final *
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':'Z'")] // UTC
    [TestCase("'utcOffset':'+08:00'", "'utcOffset':'-05:30'")] // a negative offset with minutes
    [TestCase("'highSpendThreshold':1000,", "")] // optional plan members
    [TestCase("'version':'t1',", "'version':'t1','extra':{'nested':[1,{'a':null}]},")] // unknown members are ignored
    [TestCase("'price':150000", "'price':150000,'note':'x'")] // unknown rate member
    [TestCase("'reason':'cs'", "'reason':'cs','to':null")] // null is absent
    public void Valid_variations_load(string find, string replace)
    {
        var bytes = Mutated(find, replace);
        Assert.That(() => TariffLoader.Load(bytes), Throws.Nothing);
    }

    [Test]
    public void An_integer_beyond_64_bits_is_refused_saying_so()
    {
        var bytes = Mutated("'unit':60,'increment':60,'price':2990000", "'unit':60,'increment':99999999999999999999,'price':2990000");
        Assert.That(() => TariffLoader.Load(bytes), Throws.TypeOf<TariffException>().With.Message.EqualTo(
            "plans.p.rates[3].increment: must be an integer ≥ 1 (got 99999999999999999999, beyond the 64-bit range)"));
    }

    [TestCase("not json")] // not JSON
    [TestCase("[]")] // not an object
    [TestCase("{'version':'t1',}")] // a trailing comma
    [TestCase("{'version':'t1'} // comment")] // a comment
    public void A_document_that_is_not_one_JSON_object_is_refused_at_the_root(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text.Replace('\'', '"'));
        Assert.That(() => TariffLoader.Load(bytes), Throws.TypeOf<TariffException>().With.Message.StartsWith("$: "));
    }

    [Test]
    public void A_missing_file_is_refused_with_its_name()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-tariff-{Guid.NewGuid():N}.json");
        Assert.That(() => TariffLoader.LoadFile(path), Throws.TypeOf<TariffException>().With.Message.Contains(path));
    }

    [Test]
    public void Zero_rating_entries_keep_their_dates_and_reason()
    {
        var bytes = Mutated("'reason':'cs'", "'to':'2030-01-01T00:00:00Z','reason':'cs'");
        var rule = TariffLoader.Load(bytes).ZeroRating.Rules.Single();
        Assert.That(Time.Instant.TryParse("2010-01-01T00:00:00+08:00", out var from), Is.True);
        Assert.That(Time.Instant.TryParse("2030-01-01T00:00:00Z", out var to), Is.True);
        Assert.That((rule.FromTicks, rule.ToTicks, rule.Reason, rule.Pattern), Is.EqualTo((from, to, "cs", "10086")));
    }
}
