using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.Serialization;

namespace RatingPipeline.Tests.Deploy;

/// <summary>A template the chart cannot render: a syntax error, an unknown function, a missing value, <c>required</c>.</summary>
internal sealed class HelmTemplateException(string message) : Exception(message);

/// <summary>
/// Renders a Helm chart's templates without Helm, for the subset of Go templates and Sprig the chart uses:
/// actions with <c>{{-</c>/<c>-}}</c> trimming and comments; <c>.Values</c>, <c>.Release</c>, <c>.Chart</c>,
/// <c>.Files.Get</c>, <c>$</c> and variables; <c>if</c>/<c>else if</c>/<c>else</c>, <c>range</c> (lists, and maps in
/// key order), <c>with</c>, <c>define</c> and <c>include</c>; <c>:=</c>; functions <c>quote</c>, <c>nindent</c>,
/// <c>indent</c>, <c>toYaml</c>, <c>default</c>, <c>required</c>, <c>printf</c> (%s %d %v), <c>trunc</c>,
/// <c>trimSuffix</c>, <c>replace</c>, <c>contains</c>, <c>sha256sum</c>, <c>not</c>, <c>and</c>, <c>or</c>,
/// <c>eq</c>, <c>ne</c>, <c>empty</c>. It is strict where Helm is lenient: a value path missing from the values
/// is an error (so every value a template reads must be in values.yaml), as is any other construct.
/// Numbers print as integers when whole; Helm would print values of 1e6 and above as 1e+06 (the chart has none).
/// </summary>
internal sealed class HelmChart
{
    private readonly string _directory;
    private readonly Dictionary<string, object?> _chart;
    private readonly Dictionary<string, object?> _values;
    private readonly Dictionary<string, List<Node>> _defines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Node>> _templates = new(StringComparer.Ordinal);

    public HelmChart(string directory)
    {
        _directory = directory;
        _chart = Yaml.Map(Yaml.Parse(File.ReadAllText(Path.Combine(directory, "Chart.yaml"))), "Chart.yaml");
        _values = Yaml.Map(Yaml.Parse(File.ReadAllText(Path.Combine(directory, "values.yaml"))), "values.yaml");
        foreach (var file in Directory.GetFiles(Path.Combine(directory, "templates")).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var nodes = Parser.Parse(File.ReadAllText(file), name, _defines);
            if (!name.StartsWith('_'))
            {
                _templates[name] = nodes;
            }
        }
    }

    /// <summary>Template file names that produce output (helpers excluded).</summary>
    public IReadOnlyCollection<string> TemplateNames => _templates.Keys;

    /// <summary>
    /// Renders every template with the chart's values merged with <paramref name="set"/> (like <c>--set</c>/<c>--set-file</c>:
    /// dotted paths, typed values). Returns the output by template file name.
    /// </summary>
    public Dictionary<string, string> Render(string releaseName, string releaseNamespace, IReadOnlyDictionary<string, object?>? set = null)
    {
        var values = DeepCopy(_values);
        foreach (var (path, value) in set ?? new Dictionary<string, object?>())
        {
            SetPath(values, path, value);
        }

        var root = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Values"] = values,
            ["Release"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["Name"] = releaseName,
                ["Namespace"] = releaseNamespace,
                ["Service"] = "Helm",
                ["IsInstall"] = true,
                ["IsUpgrade"] = false,
                ["Revision"] = 1L,
            },
            ["Chart"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["Name"] = _chart["name"],
                ["Version"] = _chart["version"],
                ["AppVersion"] = _chart["appVersion"],
            },
            ["Files"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["Get"] = new Method(args => ReadChartFile(Str(args.Single()))) },
        };
        return _templates.ToDictionary(t => t.Key, t => new Renderer(_defines, t.Key).Render(t.Value, root), StringComparer.Ordinal);
    }

    /// <summary>The Kubernetes objects of a rendering: every YAML document of every .yaml template, empty ones left out.</summary>
    public static List<Dictionary<string, object?>> Objects(Dictionary<string, string> rendered) =>
        [.. rendered.Where(r => r.Key.EndsWith(".yaml", StringComparison.Ordinal))
            .SelectMany(r => ParseDocuments(r.Key, r.Value))];

    private static IEnumerable<Dictionary<string, object?>> ParseDocuments(string template, string text)
    {
        List<object?> documents;
        try
        {
            documents = Yaml.ParseAll(text);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new HelmTemplateException($"{template} does not render to valid YAML: {e.Message}\n{text}");
        }

        return documents.Select(d => Yaml.Map(d, $"a document of {template}"));
    }

    private string ReadChartFile(string relative)
    {
        var path = Path.GetFullPath(Path.Combine(_directory, relative));
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    private static Dictionary<string, object?> DeepCopy(Dictionary<string, object?> map) =>
        map.ToDictionary(e => e.Key, e => e.Value switch
        {
            Dictionary<string, object?> m => DeepCopy(m),
            List<object?> l => (object?)l.Select(x => x is Dictionary<string, object?> m ? DeepCopy(m) : x).ToList(),
            var v => v,
        }, StringComparer.Ordinal);

    private static void SetPath(Dictionary<string, object?> values, string path, object? value)
    {
        var keys = path.Split('.');
        var map = values;
        foreach (var key in keys[..^1])
        {
            if (!map.TryGetValue(key, out var next) || next is not Dictionary<string, object?> child)
            {
                child = new Dictionary<string, object?>(StringComparer.Ordinal);
                map[key] = child;
            }

            map = child;
        }

        map[keys[^1]] = value;
    }

    internal static string Str(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d when d == Math.Floor(d) && Math.Abs(d) < 1e15 => ((long)d).ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => throw new HelmTemplateException($"cannot print a {value.GetType().Name} ({value}); use toYaml"),
    };

    internal static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0,
        long l => l != 0,
        int i => i != 0,
        double d => d != 0,
        Dictionary<string, object?> m => m.Count > 0,
        List<object?> l => l.Count > 0,
        _ => true,
    };

    /// <summary>A method of a built-in object (<c>.Files.Get</c>).</summary>
    internal sealed record Method(Func<object?[], object?> Invoke);

    // ---------------------------------------------------------------- syntax tree

    internal abstract record Node;

    internal sealed record TextNode(string Text) : Node;

    internal sealed record OutputNode(Pipeline Pipeline) : Node;

    internal sealed record AssignNode(string Variable, Pipeline Pipeline) : Node;

    internal sealed record IfNode(List<(Pipeline Condition, List<Node> Body)> Branches, List<Node>? Else) : Node;

    internal sealed record RangeNode(string? KeyVariable, string? ValueVariable, Pipeline Pipeline, List<Node> Body, List<Node>? Else) : Node;

    internal sealed record WithNode(Pipeline Pipeline, List<Node> Body, List<Node>? Else) : Node;

    internal sealed record Pipeline(List<Command> Commands, string Source);

    internal sealed record Command(List<Operand> Operands);

    internal abstract record Operand;

    internal sealed record Literal(object? Value) : Operand;

    internal sealed record Identifier(string Name) : Operand;

    /// <summary><c>.a.b</c> (from dot), <c>$.a</c> (from the root), <c>$x.a</c> (from a variable).</summary>
    internal sealed record FieldChain(string? Variable, string[] Fields) : Operand;

    internal sealed record SubPipeline(Pipeline Pipeline) : Operand;

    // ---------------------------------------------------------------- parser

    private static class Parser
    {
        private enum Ending
        {
            EndOfInput,
            End,
            Else,
            ElseIf,
        }

        public static List<Node> Parse(string text, string template, Dictionary<string, List<Node>> defines)
        {
            var tokens = Lex(text, template);
            var position = 0;
            var (nodes, ending, _) = ParseList(tokens, ref position, template, defines);
            if (ending != Ending.EndOfInput)
            {
                throw new HelmTemplateException($"{template}: unexpected {{{{ {ending.ToString().ToLowerInvariant()} }}}}");
            }

            return nodes;
        }

        private static (List<Node> Nodes, Ending Ending, string Remainder) ParseList(List<(bool IsAction, string Text)> tokens, ref int position, string template,
            Dictionary<string, List<Node>> defines)
        {
            var nodes = new List<Node>();
            while (position < tokens.Count)
            {
                var (isAction, text) = tokens[position++];
                if (!isAction)
                {
                    if (text.Length > 0)
                    {
                        nodes.Add(new TextNode(text));
                    }

                    continue;
                }

                var body = text.Trim();
                var word = body.Split(' ', 2)[0];
                var rest = body.Length > word.Length ? body[word.Length..].Trim() : "";
                switch (word)
                {
                    case "end":
                        return (nodes, Ending.End, "");
                    case "else" when rest.StartsWith("if ", StringComparison.Ordinal):
                        return (nodes, Ending.ElseIf, rest[3..].Trim());
                    case "else":
                        return (nodes, Ending.Else, "");
                    case "if":
                        nodes.Add(ParseIf(rest, tokens, ref position, template, defines));
                        break;
                    case "range":
                        nodes.Add(ParseRange(rest, tokens, ref position, template, defines));
                        break;
                    case "with":
                        {
                            var (withBody, withEnding, _) = ParseList(tokens, ref position, template, defines);
                            List<Node>? otherwise = null;
                            if (withEnding == Ending.Else)
                            {
                                (otherwise, withEnding, _) = ParseList(tokens, ref position, template, defines);
                            }

                            Expect(withEnding, Ending.End, template, "with");
                            nodes.Add(new WithNode(ParsePipeline(rest, template), withBody, otherwise));
                            break;
                        }

                    case "define":
                        {
                            var name = ParseString(rest, template);
                            var (defineBody, defineEnding, _) = ParseList(tokens, ref position, template, defines);
                            Expect(defineEnding, Ending.End, template, "define");
                            defines[name] = defineBody;
                            break;
                        }

                    case "template" or "block" or "break" or "continue":
                        throw new HelmTemplateException($"{template}: {{{{ {word} }}}} is not supported here");
                    default:
                        if (body.StartsWith('$') && body.Contains(":=", StringComparison.Ordinal))
                        {
                            var at = body.IndexOf(":=", StringComparison.Ordinal);
                            nodes.Add(new AssignNode(body[..at].Trim(), ParsePipeline(body[(at + 2)..], template)));
                        }
                        else
                        {
                            nodes.Add(new OutputNode(ParsePipeline(body, template)));
                        }

                        break;
                }
            }

            return (nodes, Ending.EndOfInput, "");
        }

        private static IfNode ParseIf(string condition, List<(bool IsAction, string Text)> tokens, ref int position, string template,
            Dictionary<string, List<Node>> defines)
        {
            var branches = new List<(Pipeline, List<Node>)>();
            List<Node>? otherwise = null;
            while (true)
            {
                var (body, ending, rest) = ParseList(tokens, ref position, template, defines);
                branches.Add((ParsePipeline(condition, template), body));
                if (ending == Ending.ElseIf)
                {
                    condition = rest;
                    continue;
                }

                if (ending == Ending.Else)
                {
                    (otherwise, ending, _) = ParseList(tokens, ref position, template, defines);
                }

                Expect(ending, Ending.End, template, "if");
                return new IfNode(branches, otherwise);
            }
        }

        private static RangeNode ParseRange(string header, List<(bool IsAction, string Text)> tokens, ref int position, string template,
            Dictionary<string, List<Node>> defines)
        {
            string? key = null, value = null;
            var at = header.IndexOf(":=", StringComparison.Ordinal);
            if (at >= 0)
            {
                var variables = header[..at].Split(',', StringSplitOptions.TrimEntries);
                (key, value) = variables.Length == 2 ? (variables[0], variables[1]) : (null, variables[0]);
                header = header[(at + 2)..];
            }

            var (body, ending, _) = ParseList(tokens, ref position, template, defines);
            List<Node>? otherwise = null;
            if (ending == Ending.Else)
            {
                (otherwise, ending, _) = ParseList(tokens, ref position, template, defines);
            }

            Expect(ending, Ending.End, template, "range");
            return new RangeNode(key, value, ParsePipeline(header, template), body, otherwise);
        }

        private static void Expect(Ending actual, Ending expected, string template, string block)
        {
            if (actual != expected)
            {
                throw new HelmTemplateException($"{template}: {{{{ {block} }}}} not closed by {{{{ end }}}} (found {actual})");
            }
        }

        /// <summary>Splits the text into text and action tokens, applying <c>{{-</c> and <c>-}}</c> trimming; comments vanish.</summary>
        private static List<(bool IsAction, string Text)> Lex(string text, string template)
        {
            var tokens = new List<(bool IsAction, string Text)>();
            var position = 0;
            var trimNext = false;
            while (position <= text.Length)
            {
                var open = text.IndexOf("{{", position, StringComparison.Ordinal);
                var literal = open < 0 ? text[position..] : text[position..open];
                if (trimNext)
                {
                    literal = literal.TrimStart();
                }

                if (open < 0)
                {
                    tokens.Add((false, literal));
                    break;
                }

                var trimLeft = text.Length > open + 3 && text[open + 2] == '-' && char.IsWhiteSpace(text[open + 3]);
                if (trimLeft)
                {
                    literal = literal.TrimEnd();
                }

                tokens.Add((false, literal));
                var start = open + (trimLeft ? 3 : 2);
                var close = text.AsSpan(start).TrimStart().StartsWith("/*", StringComparison.Ordinal)
                    ? FindCommentClose(text, start, template)
                    : FindClose(text, start, template);
                var trimRight = close >= 1 && text[close - 1] == '-' && close >= 2 && char.IsWhiteSpace(text[close - 2]);
                var body = text[start..(trimRight ? close - 1 : close)].Trim();
                if (!(body.StartsWith("/*", StringComparison.Ordinal) && body.EndsWith("*/", StringComparison.Ordinal)))
                {
                    tokens.Add((true, body));
                }

                trimNext = trimRight;
                position = close + 2;
            }

            return tokens;
        }

        /// <summary>A comment ends at the first <c>*/</c>, whatever it holds (quotes included).</summary>
        private static int FindCommentClose(string text, int start, string template)
        {
            var end = text.IndexOf("*/", start, StringComparison.Ordinal);
            var close = end < 0 ? -1 : text.IndexOf("}}", end, StringComparison.Ordinal);
            if (close < 0 || text.AsSpan(end + 2, close - end - 2).Trim().TrimEnd('-').Trim().Length > 0)
            {
                throw new HelmTemplateException($"{template}: a comment opened at {start} is not closed by */}}}}");
            }

            return close;
        }

        private static int FindClose(string text, int start, string template)
        {
            var quote = '\0';
            for (var i = start; i < text.Length - 1; i++)
            {
                var c = text[i];
                if (quote != '\0')
                {
                    if (c == '\\' && quote == '"')
                    {
                        i++;
                    }
                    else if (c == quote)
                    {
                        quote = '\0';
                    }
                }
                else if (c is '"' or '`')
                {
                    quote = c;
                }
                else if (c == '}' && text[i + 1] == '}')
                {
                    return i;
                }
            }

            throw new HelmTemplateException($"{template}: an action opened at {start} is never closed");
        }

        private static string ParseString(string text, string template)
        {
            var tokens = Tokenize(text, template);
            return tokens is [(TokenKind.String, var s)] ? s : throw new HelmTemplateException($"{template}: a name in quotes expected, found {text}");
        }

        private enum TokenKind
        {
            String,
            Number,
            Word,
            Open,
            Close,
            Pipe,
        }

        private static List<(TokenKind Kind, string Text)> Tokenize(string text, string template)
        {
            var tokens = new List<(TokenKind, string)>();
            var i = 0;
            while (i < text.Length)
            {
                var c = text[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (c == '"')
                {
                    var value = new StringBuilder();
                    for (i++; i < text.Length && text[i] != '"'; i++)
                    {
                        if (text[i] == '\\' && i + 1 < text.Length)
                        {
                            i++;
                            value.Append(text[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var e => e });
                        }
                        else
                        {
                            value.Append(text[i]);
                        }
                    }

                    if (i >= text.Length)
                    {
                        throw new HelmTemplateException($"{template}: unterminated string in {text}");
                    }

                    i++;
                    tokens.Add((TokenKind.String, value.ToString()));
                }
                else if (c == '`')
                {
                    var end = text.IndexOf('`', i + 1);
                    if (end < 0)
                    {
                        throw new HelmTemplateException($"{template}: unterminated raw string in {text}");
                    }

                    tokens.Add((TokenKind.String, text[(i + 1)..end]));
                    i = end + 1;
                }
                else if (c is '(' or ')' or '|')
                {
                    tokens.Add((c == '(' ? TokenKind.Open : c == ')' ? TokenKind.Close : TokenKind.Pipe, c.ToString()));
                    i++;
                }
                else if (char.IsDigit(c) || (c == '-' && i + 1 < text.Length && char.IsDigit(text[i + 1])))
                {
                    var start = i++;
                    while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.'))
                    {
                        i++;
                    }

                    tokens.Add((TokenKind.Number, text[start..i]));
                }
                else if (char.IsLetter(c) || c is '.' or '$' or '_')
                {
                    var start = i++;
                    while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '.' or '_' or '$'))
                    {
                        i++;
                    }

                    tokens.Add((TokenKind.Word, text[start..i]));
                }
                else
                {
                    throw new HelmTemplateException($"{template}: unexpected '{c}' in {{{{ {text} }}}}");
                }
            }

            return tokens;
        }

        public static Pipeline ParsePipeline(string text, string template)
        {
            var tokens = Tokenize(text, template);
            var position = 0;
            var pipeline = ParsePipelineTokens(tokens, ref position, text, template);
            if (position != tokens.Count)
            {
                throw new HelmTemplateException($"{template}: unexpected '{tokens[position].Text}' in {{{{ {text} }}}}");
            }

            return pipeline;
        }

        private static Pipeline ParsePipelineTokens(List<(TokenKind Kind, string Text)> tokens, ref int position, string source, string template)
        {
            var commands = new List<Command>();
            var operands = new List<Operand>();
            while (position < tokens.Count && tokens[position].Kind != TokenKind.Close)
            {
                var (kind, text) = tokens[position++];
                switch (kind)
                {
                    case TokenKind.Pipe:
                        if (operands.Count == 0)
                        {
                            throw new HelmTemplateException($"{template}: empty command before '|' in {{{{ {source} }}}}");
                        }

                        commands.Add(new Command(operands));
                        operands = [];
                        break;
                    case TokenKind.Open:
                        operands.Add(new SubPipeline(ParsePipelineTokens(tokens, ref position, source, template)));
                        if (position >= tokens.Count || tokens[position].Kind != TokenKind.Close)
                        {
                            throw new HelmTemplateException($"{template}: unclosed '(' in {{{{ {source} }}}}");
                        }

                        position++;
                        break;
                    case TokenKind.String:
                        operands.Add(new Literal(text));
                        break;
                    case TokenKind.Number:
                        operands.Add(new Literal(text.Contains('.', StringComparison.Ordinal)
                            ? double.Parse(text, CultureInfo.InvariantCulture)
                            : long.Parse(text, CultureInfo.InvariantCulture)));
                        break;
                    default:
                        operands.Add(Word(text));
                        break;
                }
            }

            if (operands.Count == 0)
            {
                throw new HelmTemplateException($"{template}: empty command in {{{{ {source} }}}}");
            }

            commands.Add(new Command(operands));
            return new Pipeline(commands, source);
        }

        private static Operand Word(string text) => text switch
        {
            "true" => new Literal(true),
            "false" => new Literal(false),
            "nil" => new Literal(null),
            "." => new FieldChain(null, []),
            "$" => new FieldChain("$", []),
            _ when text.StartsWith('.') => new FieldChain(null, text[1..].Split('.')),
            _ when text.StartsWith('$') => new FieldChain(text.Split('.')[0], text.Split('.')[1..]),
            _ => new Identifier(text),
        };
    }

    // ---------------------------------------------------------------- evaluation

    private sealed class Renderer(Dictionary<string, List<Node>> defines, string template)
    {
        private static readonly ISerializer YamlWriter = new SerializerBuilder().WithQuotingNecessaryStrings().DisableAliases().Build();
        private readonly List<Dictionary<string, object?>> _scopes = [];
        private int _depth;

        public string Render(List<Node> nodes, object? dot)
        {
            var output = new StringBuilder();
            // In Go templates $ is the data the template was executed (or included) with.
            _scopes.Add(new Dictionary<string, object?>(StringComparer.Ordinal) { ["$"] = dot });
            try
            {
                Execute(nodes, dot, output);
            }
            finally
            {
                _scopes.RemoveAt(_scopes.Count - 1);
            }

            return output.ToString();
        }

        private void Execute(List<Node> nodes, object? dot, StringBuilder output)
        {
            foreach (var node in nodes)
            {
                switch (node)
                {
                    case TextNode text:
                        output.Append(text.Text);
                        break;
                    case OutputNode action:
                        output.Append(Str(Evaluate(action.Pipeline, dot)));
                        break;
                    case AssignNode assign:
                        _scopes[^1][assign.Variable] = Evaluate(assign.Pipeline, dot);
                        break;
                    case IfNode conditional:
                        var taken = conditional.Branches.FirstOrDefault(b => Truthy(Evaluate(b.Condition, dot)));
                        var body = taken.Body ?? conditional.Else;
                        if (body is not null)
                        {
                            Scoped(() => Execute(body, dot, output));
                        }

                        break;
                    case WithNode with:
                        var value = Evaluate(with.Pipeline, dot);
                        if (Truthy(value))
                        {
                            Scoped(() => Execute(with.Body, value, output));
                        }
                        else if (with.Else is not null)
                        {
                            Scoped(() => Execute(with.Else, dot, output));
                        }

                        break;
                    case RangeNode range:
                        ExecuteRange(range, dot, output);
                        break;
                    default:
                        throw new HelmTemplateException($"{template}: unknown node {node}");
                }
            }
        }

        private void ExecuteRange(RangeNode range, object? dot, StringBuilder output)
        {
            var collection = Evaluate(range.Pipeline, dot);
            IEnumerable<(object? Key, object? Value)> items = collection switch
            {
                null => [],
                Dictionary<string, object?> map => map.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => ((object?)e.Key, e.Value)),
                List<object?> list => list.Select((v, i) => ((object?)(long)i, v)),
                _ => throw new HelmTemplateException($"{template}: cannot range over {collection} ({range.Pipeline.Source})"),
            };
            var any = false;
            foreach (var (key, value) in items)
            {
                any = true;
                Scoped(() =>
                {
                    if (range.KeyVariable is not null)
                    {
                        _scopes[^1][range.KeyVariable] = key;
                    }

                    if (range.ValueVariable is not null)
                    {
                        _scopes[^1][range.ValueVariable] = value;
                    }

                    Execute(range.Body, value, output);
                });
            }

            if (!any && range.Else is not null)
            {
                Scoped(() => Execute(range.Else, dot, output));
            }
        }

        private void Scoped(Action action)
        {
            _scopes.Add(new Dictionary<string, object?>(StringComparer.Ordinal));
            try
            {
                action();
            }
            finally
            {
                _scopes.RemoveAt(_scopes.Count - 1);
            }
        }

        private object? Evaluate(Pipeline pipeline, object? dot)
        {
            object? value = null;
            var first = true;
            foreach (var command in pipeline.Commands)
            {
                value = Call(command, dot, first ? null : [value], pipeline.Source);
                first = false;
            }

            return value;
        }

        private object? Call(Command command, object? dot, object?[]? piped, string source)
        {
            var head = command.Operands[0];
            var args = command.Operands.Skip(1).Select(o => Value(o, dot, source)).Concat(piped ?? []).ToArray();
            if (head is Identifier function)
            {
                return Function(function.Name, args, dot, source);
            }

            var value = Value(head, dot, source);
            if (value is Method method)
            {
                return method.Invoke(args);
            }

            return args.Length == 0 ? value : throw new HelmTemplateException($"{template}: {source}: a value cannot take arguments");
        }

        private object? Value(Operand operand, object? dot, string source) => operand switch
        {
            Literal literal => literal.Value,
            SubPipeline sub => Evaluate(sub.Pipeline, dot),
            FieldChain chain => Resolve(chain, dot, source),
            Identifier function => Function(function.Name, [], dot, source),
            _ => throw new HelmTemplateException($"{template}: {source}: unknown operand {operand}"),
        };

        private object? Resolve(FieldChain chain, object? dot, string source)
        {
            var value = chain.Variable is null ? dot : Variable(chain.Variable, source);
            var path = chain.Variable ?? "";
            foreach (var field in chain.Fields)
            {
                path += "." + field;
                if (value is not Dictionary<string, object?> map)
                {
                    throw new HelmTemplateException($"{template}: {source}: {path} reads a field of {(value is null ? "nothing" : value.GetType().Name)}");
                }

                if (!map.TryGetValue(field, out value))
                {
                    throw new HelmTemplateException($"{template}: {source}: {path} is not defined (every value a template reads must be in values.yaml)");
                }
            }

            return value;
        }

        private object? Variable(string name, string source)
        {
            for (var i = _scopes.Count - 1; i >= 0; i--)
            {
                if (_scopes[i].TryGetValue(name, out var value))
                {
                    return value;
                }
            }

            throw new HelmTemplateException($"{template}: {source}: undefined variable {name}");
        }

        private object? Function(string name, object?[] args, object? dot, string source)
        {
            void Arity(int count)
            {
                if (args.Length != count)
                {
                    throw new HelmTemplateException($"{template}: {source}: {name} takes {count} arguments, got {args.Length}");
                }
            }

            switch (name)
            {
                case "include":
                    Arity(2);
                    var defineName = Str(args[0]);
                    if (!defines.TryGetValue(defineName, out var body))
                    {
                        throw new HelmTemplateException($"{template}: {source}: no template named {defineName}");
                    }

                    if (++_depth > 50)
                    {
                        throw new HelmTemplateException($"{template}: include nested too deep ({defineName})");
                    }

                    try
                    {
                        return new Renderer(defines, template) { _depth = _depth }.Render(body, args[1]);
                    }
                    finally
                    {
                        _depth--;
                    }

                case "quote":
                    return string.Join(' ', args.Where(a => a is not null).Select(a => GoQuote(Str(a))));
                case "nindent":
                    Arity(2);
                    return "\n" + Indent(Convert.ToInt32(args[0], CultureInfo.InvariantCulture), Str(args[1]));
                case "indent":
                    Arity(2);
                    return Indent(Convert.ToInt32(args[0], CultureInfo.InvariantCulture), Str(args[1]));
                case "toYaml":
                    Arity(1);
                    return ToYaml(args[0]);
                case "default":
                    Arity(2);
                    return Truthy(args[1]) ? args[1] : args[0];
                case "required":
                    Arity(2);
                    return args[1] is null || (args[1] is string s && s.Length == 0) ? throw new HelmTemplateException(Str(args[0])) : args[1];
                case "fail":
                    Arity(1);
                    throw new HelmTemplateException(Str(args[0]));
                case "printf":
                    return Printf(Str(args[0]), args[1..], source);
                case "trunc":
                    Arity(2);
                    var limit = Convert.ToInt32(args[0], CultureInfo.InvariantCulture);
                    var text = Str(args[1]);
                    return limit >= 0 && text.Length > limit ? text[..limit] : text;
                case "trimSuffix":
                    Arity(2);
                    var value = Str(args[1]);
                    return value.EndsWith(Str(args[0]), StringComparison.Ordinal) && Str(args[0]).Length > 0 ? value[..^Str(args[0]).Length] : value;
                case "replace":
                    Arity(3);
                    return Str(args[2]).Replace(Str(args[0]), Str(args[1]), StringComparison.Ordinal);
                case "contains":
                    Arity(2);
                    return Str(args[1]).Contains(Str(args[0]), StringComparison.Ordinal);
                case "sha256sum":
                    Arity(1);
                    return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Str(args[0]))));
                case "not":
                    Arity(1);
                    return !Truthy(args[0]);
                case "and":
                    return args.FirstOrDefault(a => !Truthy(a), args.LastOrDefault());
                case "or":
                    return args.FirstOrDefault(Truthy, args.LastOrDefault());
                case "empty":
                    Arity(1);
                    return !Truthy(args[0]);
                case "eq":
                    Arity(2);
                    return Equals(Normalize(args[0]), Normalize(args[1]));
                case "ne":
                    Arity(2);
                    return !Equals(Normalize(args[0]), Normalize(args[1]));
                default:
                    throw new HelmTemplateException($"{template}: {source}: function {name} is not supported by this renderer");
            }
        }

        private static object? Normalize(object? value) => value is int or long or double ? Convert.ToDouble(value, CultureInfo.InvariantCulture) : value;

        private static string Indent(int spaces, string text)
        {
            var pad = new string(' ', spaces);
            return pad + text.Replace("\n", "\n" + pad, StringComparison.Ordinal);
        }

        private string Printf(string format, object?[] args, string source)
        {
            var output = new StringBuilder();
            var next = 0;
            for (var i = 0; i < format.Length; i++)
            {
                if (format[i] != '%' || i + 1 >= format.Length)
                {
                    output.Append(format[i]);
                    continue;
                }

                var verb = format[++i];
                if (verb == '%')
                {
                    output.Append('%');
                    continue;
                }

                if (next >= args.Length)
                {
                    throw new HelmTemplateException($"{template}: {source}: printf has too few arguments");
                }

                output.Append(verb switch
                {
                    's' or 'v' or 'd' => Str(args[next++]),
                    _ => throw new HelmTemplateException($"{template}: {source}: printf verb %{verb} is not supported"),
                });
            }

            return output.ToString();
        }

        /// <summary>Go's %q for a string: double quotes, backslash escapes for quotes, backslashes and control characters.</summary>
        private static string GoQuote(string text)
        {
            var output = new StringBuilder("\"");
            foreach (var c in text)
            {
                output.Append(c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    '\t' => "\\t",
                    '\r' => "\\r",
                    _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                    _ => c.ToString(),
                });
            }

            return output.Append('"').ToString();
        }

        /// <summary>Helm's toYaml: block YAML with map keys in order, no trailing newline.</summary>
        private static string ToYaml(object? value)
        {
            if (value is null)
            {
                return "null";
            }

            return YamlWriter.Serialize(Sorted(value)).TrimEnd('\n');
        }

        private static object? Sorted(object? value) => value switch
        {
            Dictionary<string, object?> map => new SortedDictionary<string, object?>(map.ToDictionary(e => e.Key, e => Sorted(e.Value)), StringComparer.Ordinal),
            List<object?> list => list.Select(Sorted).ToList(),
            _ => value,
        };
    }
}
