using System.Buffers;
using System.CommandLine;
using RatingPipeline.Synthetic;

namespace RatingPipeline.Cli.Commands;

/// <summary><c>ratingctl generate</c>: writes a reproducible synthetic data set (tariff, profiles, CDRs).</summary>
public static class GenerateCommand
{
    public static Command Build()
    {
        var subscribers = new Option<int>("--subscribers") { Description = "Number of subscribers", DefaultValueFactory = _ => 10_000 };
        var cdrs = new Option<long>("--cdrs") { Description = "Number of CDR lines", DefaultValueFactory = _ => 100_000 };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same data)", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Output folder", Required = true };
        var command = new Command("generate", "Write a synthetic data set: tariff.json, subscribers.jsonl, cdrs.jsonl.")
        {
            subscribers, cdrs, seed, output,
        };
        command.SetAction(async (result, cancel) =>
        {
            var (s, c) = await RunAsync(result.GetValue(output)!, result.GetValue(subscribers), result.GetValue(cdrs), result.GetValue(seed), cancel);
            Console.WriteLine($"{s} subscribers, {c} cdrs written to {result.GetValue(output)}");
            return 0;
        });
        return command;
    }

    public static async Task<(int Subscribers, long Cdrs)> RunAsync(string folder, int subscribers, long cdrs, int seed, CancellationToken cancel)
    {
        if (subscribers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(subscribers), "at least one subscriber");
        }

        Directory.CreateDirectory(folder);
        await File.WriteAllBytesAsync(Path.Combine(folder, "tariff.json"), SyntheticData.DemoTariff(), cancel);
        var data = new SyntheticData(seed, subscribers);
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        await using (var file = File.Create(Path.Combine(folder, "subscribers.jsonl")))
        {
            for (var i = 0; i < subscribers; i++)
            {
                data.WriteProfile(i, buffer);
                buffer.Write("\n"u8);
                await FlushIfFullAsync(buffer, file, cancel);
            }

            await FlushIfFullAsync(buffer, file, cancel, force: true);
        }

        await using (var file = File.Create(Path.Combine(folder, "cdrs.jsonl")))
        {
            for (long i = 0; i < cdrs; i++)
            {
                data.WriteNextCdr(buffer);
                buffer.Write("\n"u8);
                await FlushIfFullAsync(buffer, file, cancel);
            }

            await FlushIfFullAsync(buffer, file, cancel, force: true);
        }

        return (subscribers, cdrs);
    }

    private static async ValueTask FlushIfFullAsync(ArrayBufferWriter<byte> buffer, Stream file, CancellationToken cancel, bool force = false)
    {
        if (force || buffer.WrittenCount > (1 << 20) - 4096)
        {
            await file.WriteAsync(buffer.WrittenMemory, cancel);
            buffer.ResetWrittenCount();
        }
    }
}
