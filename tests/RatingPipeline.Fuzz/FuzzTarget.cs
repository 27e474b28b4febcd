namespace RatingPipeline.Fuzz;

/// <summary>An input broke a rule that must hold for every input (the message says which).</summary>
public sealed class InvariantViolationException : Exception
{
    public InvariantViolationException()
    {
    }

    public InvariantViolationException(string message)
        : base(message)
    {
    }

    public InvariantViolationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// One thing to fuzz: runs an input and checks every invariant that must hold for any input, throwing
/// <see cref="InvariantViolationException"/> when one breaks. An exception of any other type escaping
/// <see cref="Run"/> is a violation too (the code under test let it out).
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The targets by name, as the command line takes them.</summary>
    public static readonly string[] Names = ["cdr", "tariff", "profile"];

    public abstract string Name { get; }

    /// <summary>Valid and near-valid inputs to start from.</summary>
    public abstract IReadOnlyList<byte[]> Seeds { get; }

    /// <summary>Tokens of the input format that mutations splice in (member names, keywords, edge values).</summary>
    public abstract IReadOnlyList<byte[]> Dictionary { get; }

    /// <summary>Runs one input and checks the invariants; returns a short label of the outcome (new labels grow the corpus).</summary>
    public abstract string Run(ReadOnlySpan<byte> input);

    public static FuzzTarget Create(string name) => name switch
    {
        "cdr" => new CdrTarget(),
        "tariff" => new TariffTarget(),
        "profile" => new ProfileTarget(),
        _ => throw new ArgumentException($"unknown fuzz target \"{name}\" (expected one of {string.Join(", ", Names)})", nameof(name)),
    };

    /// <summary>Throws an <see cref="InvariantViolationException"/> unless <paramref name="condition"/> holds.</summary>
    protected static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }

    /// <summary>The first words of a message, without quoted parts or numbers, as an outcome label.</summary>
    protected static string Label(string prefix, string message)
    {
        var text = new System.Text.StringBuilder(message.Length);
        var quote = '\0';
        foreach (var c in message)
        {
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c is ':' or '(' or '.')
            {
                break;
            }
            else if (!char.IsAsciiDigit(c))
            {
                text.Append(c);
            }
        }

        var head = text.ToString().Trim();
        return $"{prefix} {(head.Length > 50 ? head[..50] : head)}";
    }
}
