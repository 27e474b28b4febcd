using MimeKit;
using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Sender.Rules;

namespace RatingPipeline.Sender;

/// <summary>Checks section <c>Sender</c> at start, templates included; every problem is named with its key.</summary>
internal static class SenderOptionsValidator
{
    public static string TemplatesPath(SenderOptions options) =>
        Path.IsPathRooted(options.TemplatesPath) ? options.TemplatesPath : Path.Combine(AppContext.BaseDirectory, options.TemplatesPath);

    internal static List<string> Check(SenderOptions o)
    {
        var errors = new List<string>();
        void Require(bool ok, string error)
        {
            if (!ok)
            {
                errors.Add(error);
            }
        }

        Require(!string.IsNullOrWhiteSpace(o.GroupId), "Sender:GroupId must not be empty");
        Require(!o.StaticMembership || !string.IsNullOrWhiteSpace(o.InstanceId), "Sender:InstanceId must not be empty with Sender:StaticMembership");
        Require(o.DailyLimit >= 1, "Sender:DailyLimit must be ≥ 1");
        Require(o.MaxSmsSegments >= 1, "Sender:MaxSmsSegments must be ≥ 1");
        Require(o.BatchSize >= 1, "Sender:BatchSize must be ≥ 1");
        Require(o.BatchWait > TimeSpan.Zero && o.BatchWait <= TimeSpan.FromSeconds(10), "Sender:BatchWait must be more than 0 and at most 10 s");
        Require(o.MaxConcurrentDeliveries >= 1, "Sender:MaxConcurrentDeliveries must be ≥ 1");
        Require(o.DedupWindow >= TimeSpan.FromHours(1), "Sender:DedupWindow must be at least 1 hour");
        Require(o.RestoreTimeout >= TimeSpan.FromSeconds(1), "Sender:RestoreTimeout must be at least 1 s");
        Require(o.VasPrechargeMargin >= TimeSpan.Zero && o.VasPrechargeMargin <= TimeSpan.FromDays(1), "Sender:VasPrechargeMargin must be 0..1 day");
        Require(o.Mo.VasNoticeLeadHours is >= 0 and <= 720, "Sender:Mo:VasNoticeLeadHours must be 0..720 (the tariff's vasNoticeLeadHours)");
        Require(o.Mo.MaxRequestBytes is >= 256 and <= 1024 * 1024, "Sender:Mo:MaxRequestBytes must be 256..1048576");
        Require(o.UsageApi.Url.Length == 0 || (Uri.TryCreate(o.UsageApi.Url, UriKind.Absolute, out var usage) && usage.Scheme is "http" or "https"),
            $"Sender:UsageApi:Url '{o.UsageApi.Url}' must be a rater's absolute http(s) address (or empty: no usage summary by SMS)");
        Require(o.UsageApi.Url.Length == 0 || o.UsageApi.Token.Length >= 16,
            "Sender:UsageApi:Token must be the raters' Http:Auth:Token (at least 16 characters) when Sender:UsageApi:Url is set");
        Require(o.UsageApi.Token.All(c => c is > ' ' and < '\x7f'), "Sender:UsageApi:Token must be printable ASCII without spaces");
        Require(o.UsageApi.Timeout >= TimeSpan.FromMilliseconds(10) && o.UsageApi.Timeout <= TimeSpan.FromSeconds(30), "Sender:UsageApi:Timeout must be 10 ms..30 s");
        Require(o.UsageApi.MaxRetries is >= 0 and <= 5, "Sender:UsageApi:MaxRetries must be 0..5");
        Require(o.UsageApi.RetryDelay >= TimeSpan.Zero && o.UsageApi.RetryDelay <= TimeSpan.FromSeconds(5), "Sender:UsageApi:RetryDelay must be 0..5 s");
        if (QuietHours.TryCreate(o.QuietHours.Start, o.QuietHours.End, o.UtcOffset, out var quietError) is null)
        {
            errors.Add(quietError);
        }

        foreach (var key in o.Urgent.Keys.Where(k => !SenderOptions.DefaultUrgent.ContainsKey(k)))
        {
            errors.Add($"Sender:Urgent:{key}: unknown kind (known: {string.Join(", ", SenderOptions.DefaultUrgent.Keys)})");
        }

        foreach (var key in o.UsageCheckHint.Keys.Where(k => !NoticeTemplates.Languages.Contains(k)))
        {
            errors.Add($"Sender:UsageCheckHint:{key}: unknown language (known: {string.Join(", ", NoticeTemplates.Languages)})");
        }

        Require(Uri.TryCreate(o.Sms.Url, UriKind.Absolute, out var sms) && sms.Scheme is "http" or "https",
            $"Sender:Sms:Url '{o.Sms.Url}' must be the SMS gateway's absolute http(s) address (SMS is the default channel)");
        Require(o.Voice.Url.Length == 0 || (Uri.TryCreate(o.Voice.Url, UriKind.Absolute, out var voice) && voice.Scheme is "http" or "https"),
            $"Sender:Voice:Url '{o.Voice.Url}' must be an absolute http(s) address (or empty: no voice channel)");
        foreach (var (key, header) in new[] { ("Sms", o.Sms.AuthHeader), ("Voice", o.Voice.AuthHeader) })
        {
            try
            {
                HttpGatewayChannel.ParseHeader(header);
            }
            catch (FormatException e)
            {
                errors.Add($"Sender:{key}:AuthHeader: {e.Message}");
            }
        }

        if (o.Smtp.Host.Length > 0)
        {
            Require(o.Smtp.Port is >= 1 and <= 65535, "Sender:Smtp:Port must be 1..65535");
            Require(MailboxAddress.TryParse(o.Smtp.From, out _) && o.Smtp.From.Contains('@', StringComparison.Ordinal),
                $"Sender:Smtp:From '{o.Smtp.From}' must be an e-mail address when Sender:Smtp:Host is set");
            try
            {
                SmtpChannel.ParseSecurity(o.Smtp.Security);
            }
            catch (FormatException e)
            {
                errors.Add(e.Message);
            }
        }

        foreach (var (key, r) in new (string, ChannelResilienceOptions)[] { ("Sms", o.Sms), ("Voice", o.Voice), ("Smtp", o.Smtp) })
        {
            Require(r.Timeout >= TimeSpan.FromMilliseconds(10) && r.Timeout <= TimeSpan.FromDays(1), $"Sender:{key}:Timeout must be 10 ms..1 day");
            Require(r.MaxRetries is >= 1 and <= 100, $"Sender:{key}:MaxRetries must be 1..100");
            Require(r.RetryDelay >= TimeSpan.Zero && r.RetryDelay <= TimeSpan.FromHours(1), $"Sender:{key}:RetryDelay must be 0..1 h");
            Require(r.MaxRetryDelay >= r.RetryDelay && r.MaxRetryDelay <= TimeSpan.FromHours(1), $"Sender:{key}:MaxRetryDelay must be RetryDelay..1 h");
            Require(r.BreakerFailureRatio is > 0 and <= 1, $"Sender:{key}:BreakerFailureRatio must be more than 0 and at most 1");
            Require(r.BreakerMinimumThroughput >= 2, $"Sender:{key}:BreakerMinimumThroughput must be ≥ 2");
            Require(r.BreakerSamplingDuration >= TimeSpan.FromMilliseconds(500), $"Sender:{key}:BreakerSamplingDuration must be at least 500 ms");
            Require(r.BreakDuration >= TimeSpan.FromMilliseconds(500), $"Sender:{key}:BreakDuration must be at least 500 ms");
            Require(r.RatePerSecond >= 1, $"Sender:{key}:RatePerSecond must be ≥ 1");
        }

        if (errors.Count == 0)
        {
            try
            {
                NoticeTemplates.Load(TemplatesPath(o), o);
            }
            catch (TemplateException e)
            {
                errors.Add(e.Message);
            }
        }

        return errors;
    }
}
