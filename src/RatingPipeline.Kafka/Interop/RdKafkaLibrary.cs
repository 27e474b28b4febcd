using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace RatingPipeline.Kafka.Interop;

/// <summary>
/// Resolves <see cref="LibRdKafka.LibraryName"/> for this assembly's P/Invokes.
/// It prefers the librdkafka instance that Confluent.Kafka already mapped into the process:
/// the mock cluster then lives in the same native library as the .NET clients. Failing that it
/// probes the redist's files itself: the default build first, then the self-contained
/// <c>centos8-</c> build (the default one needs <c>libsasl2.so.3</c>, which some distributions lack).
/// </summary>
internal static class RdKafkaLibrary
{
    /// <summary>Symbols this assembly needs; a librdkafka without them is useless here.</summary>
    private static readonly string[] RequiredExports =
    [
        "rd_kafka_new",
        "rd_kafka_mock_cluster_new",
        "rd_kafka_mock_push_request_errors_array",
        "rd_kafka_mock_group_initial_rebalance_delay_ms",
    ];

    private static readonly Lazy<LoadResult> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    static RdKafkaLibrary()
    {
        NativeLibrary.SetDllImportResolver(typeof(RdKafkaLibrary).Assembly, Resolve);
    }

    /// <summary>Full path of the loaded native library.</summary>
    internal static string Path => EnsureLoaded().Path;

    /// <summary>
    /// Loads librdkafka, or throws <see cref="DllNotFoundException"/> saying what was tried.
    /// Call before the first P/Invoke so that failures read clearly.
    /// </summary>
    internal static LoadResult EnsureLoaded()
    {
        var result = Loaded.Value;
        if (result.Handle == 0)
        {
            throw new DllNotFoundException(result.Failure);
        }

        return result;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == LibRdKafka.LibraryName ? Loaded.Value.Handle : 0;

    private static LoadResult Load()
    {
        var tried = new List<string>();
        foreach (var candidate in Candidates(tried))
        {
            if (!NativeLibrary.TryLoad(candidate, out var handle))
            {
                tried.Add($"{candidate}: cannot be loaded");
                continue;
            }

            var missing = RequiredExports.Where(name => !NativeLibrary.TryGetExport(handle, name, out _)).ToList();
            if (missing.Count > 0)
            {
                tried.Add($"{candidate}: lacks {string.Join(", ", missing)} (a librdkafka without the mock cluster API)");
                NativeLibrary.Free(handle);
                continue;
            }

            return new LoadResult(handle, candidate, string.Empty);
        }

        var failure = "The native librdkafka library with the mock cluster API could not be loaded. "
            + "It ships in the librdkafka.redist package under runtimes/<rid>/native/. Tried: "
            + (tried.Count == 0 ? "nothing (no candidate for this platform)" : string.Join("; ", tried));
        return new LoadResult(0, string.Empty, failure);
    }

    private static IEnumerable<string> Candidates(List<string> tried)
    {
        // 1. Whatever Confluent.Kafka loaded (its own fallback handles missing system libraries).
        string? confluentPath = null;
        try
        {
            Confluent.Kafka.Library.Load();
            confluentPath = FindMappedLibrary();
            if (confluentPath is null)
            {
                tried.Add("the library Confluent.Kafka loaded: not found among the process's modules");
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or InvalidOperationException or BadImageFormatException)
        {
            tried.Add($"Confluent.Kafka's own loader: {ex.Message}");
        }

        if (confluentPath is not null)
        {
            yield return confluentPath;
        }

        // 2. The redist's files beside the application, then the plain names (system search path).
        var nativeDir = System.IO.Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        foreach (var fileName in FileNames())
        {
            var local = System.IO.Path.Combine(nativeDir, fileName);
            if (File.Exists(local))
            {
                yield return local;
            }
            else
            {
                tried.Add($"{local}: no such file");
            }
        }

        foreach (var fileName in FileNames())
        {
            yield return fileName;
        }
    }

    private static string[] FileNames()
    {
        if (OperatingSystem.IsWindows())
        {
            return ["librdkafka.dll"];
        }

        if (OperatingSystem.IsMacOS())
        {
            return ["librdkafka.dylib"];
        }

        return ["librdkafka.so", "centos8-librdkafka.so", "alpine-librdkafka.so"];
    }

    private static string? FindMappedLibrary()
    {
        var names = FileNames();
        using var process = Process.GetCurrentProcess();
        foreach (ProcessModule module in process.Modules)
        {
            var fileName = module.FileName;
            if (!string.IsNullOrEmpty(fileName) && names.Contains(System.IO.Path.GetFileName(fileName), StringComparer.OrdinalIgnoreCase))
            {
                return fileName;
            }
        }

        return null;
    }

    internal readonly record struct LoadResult(nint Handle, string Path, string Failure);
}
