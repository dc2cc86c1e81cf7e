"""A small SQL tokenizer with Redshift's lexical rules, enough to rewrite statements safely.

String literals follow Redshift: a backslash escapes the next character inside '...' (the proxy
runs Postgres with ``standard_conforming_strings = off`` so Postgres reads them the same way), and
'' is a quote. Rewrites only ever touch `word` tokens, never text inside strings, quoted
identifiers, comments or dollar quotes."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>[EeNn]?'(?:[^'\\]|\\.|'')*')
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<dollar>\$(?P<tag>[A-Za-z_][A-Za-z0-9_]*)?\$.*?\$(?P=tag)?\$)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
  | (?P<param>\$\d+|%s|%\([^)]*\)s)
  | (?P<op>::|<=|>=|<>|!=|\|\||[(),;.=<>+\-*/%\[\]:|&^~!@#?{}])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass
class Token:
    kind: str  # ws, comment, string, qident, dollar, number, word, param, op, other
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    @property
    def significant(self) -> bool:
        return self.kind not in ("ws", "comment")

    @property
    def identifier(self) -> str | None:
        """The identifier this token names (folded like Redshift folds it), or None."""
        if self.kind == "word":
            return self.text.lower()
        if self.kind == "qident":
            return self.text[1:-1].replace('""', '"')
        return None


def tokenize(sql: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    n = len(sql)
    while pos < n:
        m = _TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            out.append(Token("other", sql[pos]))
            pos += 1
            continue
        kind = m.lastgroup if m.lastgroup != "tag" else "dollar"
        if m.group("dollar") is not None:
            kind = "dollar"
        out.append(Token(kind or "other", m.group(0)))
        pos = m.end()
    return out


def split_statements(tokens: list[Token]) -> list[list[Token]]:
    """Statements separated by top-level semicolons (semicolons dropped, empty statements skipped)."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for tok in tokens:
        if tok.kind == "op" and tok.text == ";":
            if any(t.significant for t in current):
                out.append(current)
            current = []
        else:
            current.append(tok)
    if any(t.significant for t in current):
        out.append(current)
    return out


def render(tokens: list[Token]) -> str:
    return "".join(t.text for t in tokens)


def significant(tokens: list[Token]) -> list[Token]:
    return [t for t in tokens if t.significant]


def string_value(token: Token) -> str:
    """The value of a string literal token, with Redshift's escapes applied."""
    text = token.text
    if text[0] in "EeNn":
        text = text[1:]
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(nxt, nxt))
            i += 2
        elif c == "'" and i + 1 < len(body) and body[i + 1] == "'":
            out.append("'")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def quote_literal(value: str) -> str:
    """A string literal that reads back as `value` under Redshift (backslash-escaping) rules."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
