using System.Globalization;
using RatingPipeline.Fuzz;

// ratingfuzz: fuzzes the CDR decoder and engine, the tariff loader and the profile parser.
//   ratingfuzz run    [--target cdr|tariff|profile|all] [--seconds N] [--iterations N] [--seed N] [--crashes DIR] [--hang-seconds N] [--max-length N]
//   ratingfuzz replay  --target T FILE|DIR...      runs saved inputs once (a directory: its files in name order)
//   ratingfuzz seeds   --target T --out DIR        writes the seed corpus (e.g. for afl-fuzz -i)
//   ratingfuzz afl     --target T                  the target under afl-fuzz (SharpFuzz; see afl.sh)
// Exit code: 0 no failure, 1 failures (saved under --crashes), 2 usage.
var command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "run";
var options = new Dictionary<string, string>(StringComparer.Ordinal);
var files = new List<string>();
for (var i = command == "run" && (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal)) ? 0 : 1; i < args.Length; i++)
{
    if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
    {
        options[args[i][2..]] = args[++i];
    }
    else
    {
        files.Add(args[i]);
    }
}

string Option(string name, string fallback) => options.GetValueOrDefault(name, fallback);
long Number(string name, long fallback) => long.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

var targetName = Option("target", "all");
var targets = targetName == "all" ? FuzzTarget.Names : [targetName];
if (targets.Any(t => !FuzzTarget.Names.Contains(t)))
{
    await Console.Error.WriteLineAsync($"ratingfuzz: unknown target {targetName} (cdr, tariff, profile or all)");
    return 2;
}

switch (command)
{
    case "run":
        {
            var failures = 0;
            foreach (var name in targets)
            {
                var report = FuzzRunner.Run(FuzzTarget.Create(name), new FuzzOptions(
                    Duration: TimeSpan.FromSeconds(Number("seconds", 60)),
                    MaxIterations: Number("iterations", long.MaxValue),
                    Seed: (int)Number("seed", 1),
                    CrashDirectory: Option("crashes", "fuzz-crashes"),
                    HangAfter: TimeSpan.FromSeconds(Number("hang-seconds", 10)),
                    MaxInputLength: (int)Number("max-length", 1 << 20)), Console.Error);
                Console.Write(report);
                failures += report.Failures.Count;
            }

            return failures == 0 ? 0 : 1;
        }

    case "replay":
        {
            var inputs = files.SelectMany(f => Directory.Exists(f) ? Directory.GetFiles(f).Order(StringComparer.Ordinal) : (IEnumerable<string>)[f])
                .Where(f => !f.EndsWith(".txt", StringComparison.Ordinal))
                .Select(f => (f, File.ReadAllBytes(f)));
            var report = FuzzRunner.Replay(FuzzTarget.Create(targets[0]), inputs, Console.Error);
            Console.Write(report);
            return report.Failures.Count == 0 ? 0 : 1;
        }

    case "seeds":
        {
            var directory = Option("out", "fuzz-seeds");
            Directory.CreateDirectory(directory);
            var seeds = FuzzTarget.Create(targets[0]).Seeds;
            for (var i = 0; i < seeds.Count; i++)
            {
                await File.WriteAllBytesAsync(Path.Combine(directory, $"seed-{i:D3}.json"), seeds[i]);
            }

            Console.WriteLine($"{seeds.Count} seeds written to {directory}");
            return 0;
        }

    case "afl":
        AflEntry.Run(targets[0]);
        return 0;

    default:
        await Console.Error.WriteLineAsync($"ratingfuzz: unknown command {command} (run, replay, seeds or afl)");
        return 2;
}
