using System.CommandLine;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// The <c>--no-huge-pages</c> option of <c>rate</c> and <c>rerate</c>: by default a run whose inputs come to 1 MB or more
/// asks Linux for huge pages for its heap (<see cref="Memory.HugePages"/>); this leaves the heap on the system's
/// default pages (to compare, or where huge pages are unwelcome).
/// </summary>
internal static class HugePagesOption
{
    public static Option<bool> Create() => new("--no-huge-pages")
    {
        Description = "Do not ask Linux to back the heap with transparent huge pages (asked by default for inputs of 1 MB or more, where the system "
            + "leaves it to each program: a run over large tables takes about a fifth less time with them; the outputs are the same either way)",
    };
}
