"""The fast path for big multi-row INSERTs (loaders send 16 MB statements of literals).

Tokenizing such a statement costs seconds of the proxy's CPU, and nothing in a VALUES list of
literals needs rewriting. So only the head (``INSERT INTO <table> (<columns>)``) is tokenized, and
the VALUES part passes unchanged when what lies outside its string literals is nothing but numbers,
NULL / TRUE / FALSE / DEFAULT, parentheses, commas, signs and white space. The string literals are
skipped without looking inside them: data that happens to spell ``len`` or ``super`` or holds a
semicolon no longer sends the statement down the slow path. ``JSON_PARSE(`` and ``FROM_HEX(``
calls (SUPER and VARBYTE values) are qualified with the compat schema, as the full rewrite does.

Literals are found by splitting at quotes: exact when no backslash stands before a quote (every
quote then opens or closes a literal, ``''`` included); otherwise by a regular expression that
follows the tokenizer's rule for backslash escapes. Anything else (casts, comments, quoted names,
dollar quotes, other words or functions) takes the full, exact rewrite."""

from __future__ import annotations

import re

#: Redshift's string literal: a backslash escapes the next character, '' is a quote
_LITERAL = re.compile(r"'[^'\\]*(?:\\.[^'\\]*)*'", re.DOTALL)
#: between literals, ( ) , and white space separate pieces; digits all look alike to the check
_PIECES = str.maketrans({"(": " ", ")": " ", ",": " ", **{d: "0" for d in "123456789"}})
#: a piece that passes unchanged: signs (never "--", a comment), then one number or keyword or
#: compat call (its "(" is a separator); a number run into a word (`4WHEN`) does not fit
_PLAIN_PIECE = re.compile(
    r"(?:\+|-(?!-))*(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|NULL|TRUE|FALSE|DEFAULT|JSON_PARSE|FROM_HEX)?",
    re.IGNORECASE | re.ASCII,
)
#: compat functions a VALUES list may call: called schema-qualified, as the full rewrite calls them
_CALL = re.compile(r"(?<![\w$\x80-\U0010ffff.])(JSON_PARSE|FROM_HEX)(?=\s*\()", re.IGNORECASE)
_COMPAT = "rs_compat"


def plain_values(values: str) -> str | None:
    """`values` (the statement after its ``VALUES`` keyword) as PostgreSQL must get it, or None
    when it needs the full rewrite. A trailing semicolon (one statement) is dropped."""
    parts: list[str] | None = None
    if "\\'" not in values:
        parts = values.split("'")
        if len(parts) % 2 == 0:  # an odd number of quotes: an unterminated literal
            return None
        outside = parts[0::2]
    else:
        outside = _LITERAL.split(values)
        if any("'" in part for part in outside):
            return None
    last = outside[-1].rstrip()
    if last.endswith(";"):  # the statement's terminator, after the last literal (a second statement is not plain)
        outside[-1] = last[:-1]
        if parts is not None:
            parts[-1] = last[:-1]
        values = values.rstrip()[:-1]
    rest = " ".join(outside)
    shapes = set(rest.translate(_PIECES).split())
    if not all(_PLAIN_PIECE.fullmatch(shape) for shape in shapes):
        return None
    if "_" not in rest:  # no JSON_PARSE / FROM_HEX (the only pieces with an underscore)
        return values
    return _qualify_calls(values, parts)


def _qualify_calls(values: str, parts: list[str] | None) -> str:
    """`values` with its JSON_PARSE / FROM_HEX calls (outside literals) named ``rs_compat.<name>``."""

    def qualify(segment: str) -> str:
        return _CALL.sub(lambda m: f"{_COMPAT}.{m.group(1).lower()}", segment) if "(" in segment else segment

    if parts is not None:
        return "'".join([qualify(p) if k % 2 == 0 else p for k, p in enumerate(parts)])
    out: list[str] = []
    pos = 0
    for m in _LITERAL.finditer(values):
        out.append(qualify(values[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(qualify(values[pos:]))
    return "".join(out)
