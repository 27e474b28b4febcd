using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace RatingPipeline.Sender.Channels;

/// <summary>
/// E-mail through SMTP (MailKit): one plain-text message per notice, to the profile's address. A 4xx reply or
/// a connection problem is transient; a 5xx reply, a refused login or a bad address is permanent. SMTP has no
/// idempotency key: the message carries the notice's key (<c>eventId:email</c>) in <c>X-Notice-Id</c> and a
/// Message-ID derived from it, so a repeated message can be recognised.
/// </summary>
public sealed class SmtpChannel(SmtpOptions options) : INoticeChannel
{
    public const string NoticeIdHeader = "X-Notice-Id";

    public string Name => ChannelNames.Email;

    public static SecureSocketOptions ParseSecurity(string security) => security switch
    {
        "none" => SecureSocketOptions.None,
        "starttls-when-available" => SecureSocketOptions.StartTlsWhenAvailable,
        "starttls" => SecureSocketOptions.StartTls,
        "tls" => SecureSocketOptions.SslOnConnect,
        _ => throw new FormatException($"Sender:Smtp:Security '{security}' is not one of none, starttls-when-available, starttls, tls"),
    };

    /// <summary>The Message-ID of a notice: stable for a notice key, valid whatever characters the key has.</summary>
    public static string MessageIdFor(string key) =>
        $"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32]}@notice.ratingpipeline";

    public async Task SendAsync(Notice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        MimeMessage message;
        try
        {
            message = new MimeMessage
            {
                Subject = notice.Subject,
                Body = new TextPart("plain") { Text = notice.Text },
                MessageId = MessageIdFor(notice.Key),
            };
            message.From.Add(new MailboxAddress(options.FromName, options.From));
            message.To.Add(MailboxAddress.Parse(notice.To));
            message.Headers.Add(NoticeIdHeader, notice.Key);
        }
        catch (ParseException e)
        {
            throw new PermanentDeliveryException($"e-mail address '{notice.To}' is not valid: {e.Message}", e);
        }

        using var client = new SmtpClient();
        try
        {
            await client.ConnectAsync(options.Host, options.Port, ParseSecurity(options.Security), cancellationToken);
            if (options.User.Length > 0)
            {
                await client.AuthenticateAsync(options.User, options.Password, cancellationToken);
            }

            await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(true, cancellationToken);
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode is >= 400 and < 500)
        {
            throw new TransientDeliveryException($"SMTP server answered {(int)e.StatusCode}: {e.Message}", e);
        }
        catch (SmtpCommandException e)
        {
            throw new PermanentDeliveryException($"SMTP server answered {(int)e.StatusCode}: {e.Message}", e);
        }
        catch (AuthenticationException e)
        {
            throw new PermanentDeliveryException($"SMTP login refused: {e.Message}", e);
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException)
        {
            throw new TransientDeliveryException($"SMTP server unreachable: {e.Message}", e);
        }
    }
}
