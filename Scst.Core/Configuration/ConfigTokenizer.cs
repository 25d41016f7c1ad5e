// Licensed under the Apache License, Version 2.0.

using System.Text;

namespace Scst.Core.Configuration;

/// <summary>One word of an scst.conf line: its text with quotes and escapes removed, and where it stands.</summary>
/// <param name="Text">The text.</param>
/// <param name="Column">The 1-based column of its first character.</param>
/// <param name="EndColumn">The column just after its last character.</param>
/// <param name="Quoted">Whether any part of it was quoted; a quoted word is never a keyword or a brace.</param>
internal readonly record struct ConfigWord(string Text, int Column, int EndColumn, bool Quoted)
{
    /// <summary>Whether this is the unquoted word <paramref name="text"/>.</summary>
    public bool Is(string text) => !Quoted && string.Equals(Text, text, StringComparison.Ordinal);
}

/// <summary>
/// One statement of scst.conf: a line with at least one word. A line ending with <c>{</c> opens a section (the brace is
/// not among <see cref="Words"/>); a line holding only <c>}</c> closes one.
/// </summary>
internal sealed class ConfigStatement(int line, IReadOnlyList<ConfigWord> words, int openColumn, int closeColumn)
{
    /// <summary>The 1-based line.</summary>
    public int Line { get; } = line;

    /// <summary>The words, without the opening brace; empty for a closing line.</summary>
    public IReadOnlyList<ConfigWord> Words { get; } = words;

    /// <summary>The column of the trailing <c>{</c>, or 0 when the line opens nothing.</summary>
    public int OpenColumn { get; } = openColumn;

    /// <summary>The column of the <c>}</c> of a closing line, or 0.</summary>
    public int CloseColumn { get; } = closeColumn;

    /// <summary>Whether the line ends with <c>{</c>.</summary>
    public bool Opens => OpenColumn > 0;

    /// <summary>Whether the line holds only <c>}</c>.</summary>
    public bool Closes => CloseColumn > 0;
}

/// <summary>
/// Splits scst.conf text into statements: lines cut into words, comments dropped, quotes and escapes resolved, braces
/// checked to stand where the grammar allows them.
/// </summary>
/// <remarks>
/// <para>Words are separated by blanks. <c>#</c> outside quotes starts a comment that runs to the end of the line.
/// A double-quoted part (<c>"joe 12charsecret"</c>) keeps its blanks and <c>#</c>s; it may stand alone or be glued to
/// unquoted text, which it then joins (<c>a"b c"</c> is the word <c>ab c</c>). Inside and outside quotes, <c>\"</c>,
/// <c>\\</c> and <c>\#</c> stand for <c>"</c>, <c>\</c> and <c>#</c>; any other backslash is an ordinary
/// character.</para>
/// <para>Only an unquoted word <c>{</c> or <c>}</c> is a brace: <c>{</c> must end a line that has something before
/// it, <c>}</c> must be alone on its line. Columns count characters, a tab being one.</para>
/// </remarks>
internal static class ConfigTokenizer
{
    /// <summary>The statements of <paramref name="text"/>, in order; blank and comment lines give none.</summary>
    /// <param name="text">The scst.conf text.</param>
    /// <param name="source">The file name for error messages, or null.</param>
    /// <returns>The statements.</returns>
    /// <exception cref="ScstConfigException">A quote is not closed, or a brace stands where none may.</exception>
    public static IEnumerable<ConfigStatement> Statements(string text, string? source)
    {
        int lineNumber = 0;
        int start = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        while (start <= text.Length)
        {
            int end = text.IndexOf('\n', start);
            if (end < 0)
            {
                end = text.Length;
            }

            lineNumber++;
            string line = text[start..end].TrimEnd('\r');
            List<ConfigWord> words = Words(line, lineNumber, source);
            if (words.Count > 0)
            {
                yield return Statement(words, lineNumber, source);
            }

            start = end + 1;
        }
    }

    /// <summary>The words of one line.</summary>
    /// <param name="line">The line, without its line break.</param>
    /// <param name="lineNumber">Its 1-based number.</param>
    /// <param name="source">The file name for error messages, or null.</param>
    /// <returns>The words; empty for a blank or comment line.</returns>
    /// <exception cref="ScstConfigException">A quote is not closed.</exception>
    public static List<ConfigWord> Words(string line, int lineNumber, string? source)
    {
        var words = new List<ConfigWord>();
        var text = new StringBuilder();
        int i = 0;
        while (true)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }

            if (i == line.Length || line[i] == '#')
            {
                return words;
            }

            int wordStart = i;
            bool quoted = false;
            text.Clear();
            while (i < line.Length && !char.IsWhiteSpace(line[i]) && line[i] != '#')
            {
                if (IsEscape(line, i))
                {
                    text.Append(line[i + 1]);
                    i += 2;
                }
                else if (line[i] == '"')
                {
                    quoted = true;
                    i = QuotedPart(line, i, text, lineNumber, source);
                }
                else
                {
                    text.Append(line[i++]);
                }
            }

            words.Add(new ConfigWord(text.ToString(), wordStart + 1, i + 1, quoted));
        }
    }

    // Appends the text of the quoted part that opens at line[quote]; returns the index after its closing quote.
    private static int QuotedPart(string line, int quote, StringBuilder text, int lineNumber, string? source)
    {
        int i = quote + 1;
        while (i < line.Length)
        {
            if (IsEscape(line, i))
            {
                text.Append(line[i + 1]);
                i += 2;
            }
            else if (line[i] == '"')
            {
                return i + 1;
            }
            else
            {
                text.Append(line[i++]);
            }
        }

        throw new ScstConfigException(source, lineNumber, quote + 1, "the quoted string is not closed");
    }

    private static bool IsEscape(string line, int i) =>
        line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '#';

    private static ConfigStatement Statement(List<ConfigWord> words, int lineNumber, string? source)
    {
        for (int i = 0; i < words.Count; i++)
        {
            if (words[i].Is("}"))
            {
                if (i > 0)
                {
                    throw new ScstConfigException(source, lineNumber, words[i].Column, "} must stand alone on its line");
                }

                if (words.Count > 1)
                {
                    throw new ScstConfigException(source, lineNumber, words[1].Column, $"unexpected {words[1].Text} after }}");
                }

                return new ConfigStatement(lineNumber, [], openColumn: 0, closeColumn: words[0].Column);
            }

            if (words[i].Is("{"))
            {
                if (i == 0)
                {
                    throw new ScstConfigException(
                        source, lineNumber, words[0].Column, "{ must end the line of the section it opens, after the section's name");
                }

                if (i < words.Count - 1)
                {
                    throw new ScstConfigException(
                        source, lineNumber, words[i + 1].Column, $"unexpected {words[i + 1].Text} after {{: a section's contents start on the next line");
                }

                int openColumn = words[i].Column;
                words.RemoveAt(i);
                return new ConfigStatement(lineNumber, words, openColumn, closeColumn: 0);
            }
        }

        return new ConfigStatement(lineNumber, words, openColumn: 0, closeColumn: 0);
    }
}
