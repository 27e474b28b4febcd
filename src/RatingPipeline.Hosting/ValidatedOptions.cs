using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RatingPipeline.Hosting;

/// <summary>
/// The one way the workers take a configuration section: bound to its options class and checked when the host
/// starts, every problem reported with its key (not a bare "invalid"), so a worker with a broken configuration
/// stops at once with all of them listed.
/// </summary>
public static class ValidatedOptions
{
    /// <summary>Binds section <paramref name="section"/> to <typeparamref name="T"/>; <paramref name="check"/> names each problem.</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string section,
        Func<T, IEnumerable<string>> check)
        where T : class
    {
        services.AddSingleton<IValidateOptions<T>>(new Validator<T>(check));
        return services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    /// <summary>
    /// Keys that were renamed: each one still present in <paramref name="configuration"/> is a problem naming its new
    /// key, rather than a setting silently ignored.
    /// </summary>
    public static IEnumerable<string> RenamedKeys(IConfiguration configuration, string section, IEnumerable<(string Old, string New, string Example)> renamed)
    {
        foreach (var (old, now, example) in renamed)
        {
            if (configuration[$"{section}:{old}"] is not null)
            {
                yield return $"{section}:{old} is now {section}:{now}, a duration (e.g. {example})";
            }
        }
    }

    private sealed class Validator<T>(Func<T, IEnumerable<string>> check) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var errors = check(options).ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
