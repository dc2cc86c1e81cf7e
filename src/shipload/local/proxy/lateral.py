"""Redshift's lateral column alias references, which PostgreSQL lacks.

Redshift lets a select-list alias be used in later items of the same select list and in the WHERE
clause (`SELECT n.nspname AS table_schem ... WHERE table_schem LIKE 'x'`, as redshift_connector's
metadata queries do; https://docs.aws.amazon.com/redshift/latest/dg/r_SELECT_list.html). The
endpoint replaces such a reference by the aliased expression, in parentheses.

Without the table definitions the proxy cannot tell an alias from a column of the same name, so an
alias is only substituted when its name occurs nowhere else in that SELECT's select list and FROM
clause (`SELECT upper(name) AS name ... WHERE name = 'x'` keeps meaning the column)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shipload.local.proxy.sqltokens import Token, render

_CLAUSE_WORDS = {
    "FROM": "from", "WHERE": "where", "GROUP": "other", "ORDER": "other", "HAVING": "other", "LIMIT": "other",
    "OFFSET": "other", "UNION": "other", "INTERSECT": "other", "EXCEPT": "other", "MINUS": "other",
    "WINDOW": "other", "QUALIFY": "other", "INTO": "other",
}


@dataclass
class _Frame:
    scope: int
    owner: bool
    clause: str


@dataclass
class _Scope:
    items: list[list[int]] = field(default_factory=lambda: [[]])  # token indexes of each select item
    from_: list[int] = field(default_factory=list)  # token indexes in the FROM clause
    where: list[int] = field(default_factory=list)


def resolve_lateral_aliases(tokens: list[Token]) -> list[Token]:
    if not any(t.is_word("AS") for t in tokens):
        return tokens
    scopes: dict[int, _Scope] = {}
    stack = [_Frame(-1, False, "other")]
    for k, tok in enumerate(tokens):
        frame = stack[-1]
        if tok.kind == "op" and tok.text == "(":
            stack.append(_Frame(frame.scope, False, frame.clause))
            _note(scopes, frame, k)
            continue
        if tok.kind == "op" and tok.text == ")":
            if len(stack) > 1:
                stack.pop()
            _note(scopes, stack[-1], k)
            continue
        if tok.is_word("SELECT"):
            frame.scope, frame.owner, frame.clause = k, True, "select"
            scopes[k] = _Scope()
            continue
        if frame.owner and tok.upper in _CLAUSE_WORDS:
            frame.clause = _CLAUSE_WORDS[tok.upper]
            continue
        if frame.owner and frame.clause == "select" and tok.kind == "op" and tok.text == ",":
            scopes[frame.scope].items.append([])
            continue
        _note(scopes, frame, k)
    out = list(tokens)
    for scope in scopes.values():
        _substitute(out, scope)
    return out


def _note(scopes: dict[int, _Scope], frame: _Frame, k: int) -> None:
    scope = scopes.get(frame.scope)
    if scope is None:
        return
    if frame.clause == "select":
        scope.items[-1].append(k)
    elif frame.clause == "from":
        scope.from_.append(k)
    elif frame.clause == "where":
        scope.where.append(k)


def _substitute(out: list[Token], scope: _Scope) -> None:
    names: dict[str, int] = {}  # identifiers in the FROM clause and the select items so far
    for k in scope.from_:
        _count(names, out[k])
    aliases: dict[str, str] = {}
    for item in scope.items:
        for k in item:
            _count(names, out[k])
            _replace(out, k, aliases)
        sig = [k for k in item if out[k].significant]
        if len(sig) >= 3 and out[sig[-2]].is_word("AS"):
            alias = out[sig[-1]].identifier
            if alias is not None and names.get(alias, 0) == 1:
                aliases[alias] = "(" + render(out[item[0] : sig[-2]]).strip() + ")"
    for k in scope.where:
        _replace(out, k, aliases)


def _count(names: dict[str, int], tok: Token) -> None:
    ident = tok.identifier
    if ident is not None:
        names[ident] = names.get(ident, 0) + 1


def _replace(out: list[Token], k: int, aliases: dict[str, str]) -> None:
    tok = out[k]
    if tok.kind not in ("word", "qident") or not aliases:
        return
    ident = tok.identifier
    if ident not in aliases:
        return
    prev = _sig(out, k, -1)
    nxt = _sig(out, k, 1)
    if (prev is not None and (prev.text == "." or prev.is_word("AS"))) or (nxt is not None and nxt.text in (".", "(")):
        return
    out[k] = Token("word", aliases[ident])


def _sig(tokens: list[Token], k: int, step: int) -> Token | None:
    k += step
    while 0 <= k < len(tokens):
        if tokens[k].significant:
            return tokens[k]
        k += step
    return None
