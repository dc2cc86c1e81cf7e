"""PartiQL unnesting of SUPER arrays in FROM, as PostgreSQL SQL.

`FROM t AS c, c.c_orders AS o [AT i]` iterates the array in `c.c_orders` for every row of `c`
(https://docs.aws.amazon.com/redshift/latest/dg/query-super.html). The endpoint turns such an item,
one whose first name is a relation introduced earlier in the same FROM list, into a LATERAL
subquery over `jsonb_array_elements` with a column named like the item's alias (and a 0-based
index column for `AT i`), and `o.key` into `o['key']`. An item naming an earlier unnested element
(`..., o AS x`) unnests that element in turn."""

from __future__ import annotations

from shipload.local.proxy.sqltokens import Token, quote_ident, quote_literal, render

_END_OF_FROM = {"WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "UNION", "INTERSECT", "EXCEPT", "MINUS", "HAVING",
                "WINDOW", "QUALIFY", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "ON", "USING"}


def unnest_super_arrays(tokens: list[Token]) -> list[Token]:
    if not any(t.is_word("FROM") for t in tokens) or not any(t.text == "," for t in tokens):
        return tokens
    out = list(tokens)
    unnested: set[str] = set()
    depth_of = _depths(out)
    starts = [i for i, t in enumerate(out) if t.is_word("FROM")]
    for start in reversed(starts):  # later FROMs first: replacements keep earlier indexes valid
        items = _items(out, start, depth_of)
        known: set[str] = set()
        replacements: list[tuple[int, int, list[Token]]] = []
        for first, last in items:
            sig = [i for i in range(first, last + 1) if out[i].significant]
            new, alias = _unnest(out, sig, known, unnested)
            if new is not None:
                replacements.append((first, last, new))
                unnested.add(alias)
            if alias:
                known.add(alias)
        for first, last, new in reversed(replacements):
            out[first : last + 1] = new
        depth_of = _depths(out)
    return _navigate(out, unnested) if unnested else out


def _depths(tokens: list[Token]) -> list[int]:
    depth = 0
    out = []
    for tok in tokens:
        if tok.text == "(" and tok.kind == "op":
            depth += 1
        out.append(depth)
        if tok.text == ")" and tok.kind == "op":
            depth -= 1
    return out


def _items(tokens: list[Token], start: int, depth_of: list[int]) -> list[tuple[int, int]]:
    """(first, last) token indexes of the comma-separated items of the FROM clause at `start`."""
    depth = depth_of[start]
    items: list[tuple[int, int]] = []
    first = start + 1
    k = start + 1
    while k < len(tokens):
        tok = tokens[k]
        if depth_of[k] < depth or (tok.text == ")" and depth_of[k] == depth):
            break
        if depth_of[k] == depth and (tok.upper in _END_OF_FROM or tok.text == ";"):
            break
        if depth_of[k] == depth and tok.kind == "op" and tok.text == ",":
            items.append((first, k - 1))
            first = k + 1
        k += 1
    items.append((first, k - 1))
    return [(a, b) for a, b in items if a <= b]


def _unnest(tokens: list[Token], sig: list[int], known: set[str], unnested: set[str]) -> tuple[list[Token] | None, str]:
    """The LATERAL replacement of an unnesting item (or None), and the name the item introduces."""
    words = [tokens[i] for i in sig]
    if not words:
        return None, ""
    index = None
    if len(words) >= 2 and words[-2].is_word("AT"):
        index, words = words[-1].identifier, words[:-2]
    if len(words) >= 2 and words[-2].is_word("AS"):
        alias, source = words[-1].identifier or "", words[:-2]
    elif len(words) >= 2 and words[-1].kind in ("word", "qident") and words[-2].text != ".":
        alias, source = words[-1].identifier or "", words[:-1]
    else:
        alias, source = "", words
    if not alias and source:
        alias = source[-1].identifier or ""
    is_path = len(source) == 3 and source[1].text == "." and (source[0].identifier or "") in known
    is_element = len(source) == 1 and (source[0].identifier or "") in unnested
    if not (is_path or is_element) or not alias:
        return None, alias
    array = render(source)
    cols = f"rs_e AS {quote_ident(alias)}" + (f", (rs_n - 1)::integer AS {quote_ident(index)}" if index else "")
    sql = (f" LATERAL (SELECT {cols} FROM jsonb_array_elements({array}) WITH ORDINALITY AS rs_u(rs_e, rs_n)) "
           f"AS {quote_ident(alias)} ")
    return [Token("word", sql)], alias


def _navigate(tokens: list[Token], unnested: set[str]) -> list[Token]:
    """`o.key` where `o` is an unnested element: `o['key']`."""
    out: list[Token] = []
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        if tok.kind in ("word", "qident") and (tok.identifier or "") in unnested:
            j = k + 1
            if j + 1 < len(tokens) and tokens[j].text == "." and tokens[j + 1].kind in ("word", "qident"):
                after = tokens[j + 2] if j + 2 < len(tokens) else None
                prev = out[-1] if out else None
                if (after is None or after.text != "(") and (prev is None or prev.text != "."):
                    out.extend([tok, Token("op", "["), Token("string", quote_literal(tokens[j + 1].identifier or "")),
                                Token("op", "]")])
                    k = j + 2
                    continue
        out.append(tok)
        k += 1
    return out
