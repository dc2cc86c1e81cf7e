"""Redshift SQL -> PostgreSQL SQL, statement by statement, on tokens.

Each rule is small and named after the Redshift feature it emulates. A rule may also refuse a
statement the way Redshift would (an `Emulated` error), so the client gets the error Redshift would
have given instead of Postgres being more permissive."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from shipload.local.proxy.lateral import resolve_lateral_aliases
from shipload.local.proxy.longnames import LongNames
from shipload.local.proxy.partiql import unnest_super_arrays
from shipload.local.proxy.plain_insert import plain_values
from shipload.local.proxy.sqltokens import (
    Token,
    quote_ident,
    quote_literal,
    render,
    significant,
    string_value,
    tokenize,
)

COMPAT = "rs_compat"
#: what `SHOW server_version` and the startup parameter report
REDSHIFT_VERSION = "8.0.2"
#: Redshift's longest identifier, in bytes
REDSHIFT_MAX_IDENTIFIER = 127
#: Postgres keeps 63 bytes: longer names are stored under a stand-in (longnames.py)
POSTGRES_MAX_IDENTIFIER = 63
#: the values of enable_case_sensitive_identifier that turn it on
TRUE_WORDS = {"true", "on", "1", "t", "yes", "y"}
MAX_VARCHAR = 65535
MAX_NUMERIC_PRECISION = 38

#: Redshift functions provided by the compat schema (called schema-qualified, whatever the search_path)
COMPAT_FUNCTIONS = {
    "json_parse", "getdate", "len", "convert_timezone", "from_hex", "to_varbyte", "json_serialize",
    "is_valid_json", "is_valid_json_array", "json_extract_path_text", "json_typeof", "version",
    "strtol", "months_between", "regexp_replace",
}
RENAMED_FUNCTIONS = {"nvl": "coalesce"}
#: Redshift system views emulated in the compat schema
#: (svv_table_info, svv_tables, svv_columns, ... live in pg_catalog, as on Redshift: see catalog.sql)
COMPAT_RELATIONS = {"stl_load_errors", "stv_slices", "pg_table_def", "stl_query", "svl_qlog"}
#: Redshift-only session parameters, kept as custom settings so SET/SHOW/RESET work
SESSION_PARAMETERS = {
    "enable_case_sensitive_identifier", "query_group", "wlm_query_slot_count", "analyze_threshold_percent",
    "auto_analyze", "enable_result_cache_for_session", "json_parse_truncate_strings", "describe_field_name_in_uppercase",
    "datashare_break_glass_session_var", "spectrum_query_maxerror", "mv_enable_aqmv_for_session",
}
COLUMN_ATTRIBUTES_WITH_ARG = {"ENCODE"}
COLUMN_ATTRIBUTES = {"DISTKEY", "SORTKEY"}
#: after `FROM (subquery)`, words that show the subquery has no alias (Redshift allows none; Postgres 15 needs one)
NOT_AN_ALIAS = {
    "WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "UNION", "INTERSECT", "EXCEPT", "MINUS", "JOIN", "INNER", "LEFT",
    "RIGHT", "FULL", "CROSS", "NATURAL", "ON", "USING", "HAVING", "WINDOW", "QUALIFY", "FETCH", "FOR",
}


@dataclass
class Session:
    """What the rewriting of one client connection depends on."""

    #: enable_case_sensitive_identifier: off (Redshift's default) folds even "quoted" names to lower case
    case_sensitive: bool = False
    #: stand-ins for identifiers of 64 to 127 bytes (None: no mapping, such names are refused)
    names: LongNames | None = None


class Emulated(Exception):
    """A statement Redshift refuses: the proxy answers it with this error."""

    def __init__(self, message: str, code: str = "XX000") -> None:
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class Statement:
    """One rewritten statement and what the proxy must do around it."""

    sql: str
    original: str
    kind: str = "plain"  # plain | truncate | append | copy | begin | end
    copy: list[Token] | None = None  # the COPY statement's tokens, executed by the COPY emulation
    notes: list[str] = field(default_factory=list)


def error_sql(message: str, code: str) -> str:
    """A statement that fails with `message` and SQLSTATE `code` in both query protocols."""
    msg = message.replace("\\", "/")
    return (
        "DO $rs_error$ BEGIN RAISE EXCEPTION USING MESSAGE = " + quote_literal(msg)
        + ", ERRCODE = " + quote_literal(code) + "; END $rs_error$"
    )


class Rewriter:
    def __init__(self, session: Session | None = None) -> None:
        self.session = session or Session()

    def rewrite(self, tokens: list[Token]) -> Statement:
        original = render(tokens).strip()
        sig = significant(tokens)
        if not sig:
            return Statement(original, original)
        try:
            tokens = self.identifiers(tokens)
            self.track_session(sig)
            sig = significant(tokens)
            tokens = navigate_after_subscripts(unnest_super_arrays(alias_subqueries(separate_numbers(tokens))))
            if any(t.is_word("SELECT") for t in sig):
                tokens = resolve_lateral_aliases(tokens)
            head = sig[0].upper
            if head == "COPY":
                return self.copy(tokens, original)
            if head in ("BEGIN", "START"):
                return Statement(original, original, "begin")
            if head in ("COMMIT", "END", "ROLLBACK", "ABORT"):
                return Statement(original, original, "end")
            if head == "TRUNCATE":
                return Statement(render(self.expressions(tokens)), original, "truncate")
            if head == "ALTER" and len(sig) > 1 and sig[1].is_word("TABLE"):
                return self.alter_table(tokens, original)
            if head == "SHOW" and len(sig) == 2 and sig[1].identifier == "server_version":
                return Statement(f"SELECT {quote_literal(REDSHIFT_VERSION)}::text AS server_version", original)
            if head in ("SET", "RESET", "SHOW"):
                return Statement(render(self.session_parameter(tokens)), original)
            if head == "CREATE":
                return self.create(tokens, original)
            if head == "MERGE" and any(t.is_word("REMOVE") for t in sig):
                raise Emulated("MERGE ... REMOVE DUPLICATES is not emulated by the local endpoint", "0A000")
            return Statement(render(self.expressions(tokens)), original)
        except Emulated as exc:
            return Statement(error_sql(exc.message, exc.code), original, "error")

    # -- identifiers: case folding, 127-byte names ----------------------------------------------
    def identifiers(self, tokens: list[Token]) -> list[Token]:
        """Quoted names folded to lower case unless the session is case-sensitive (user names keep
        their case, as on Redshift); names of 64 to 127 bytes, and string literals naming one
        already stored, replaced by their stand-in; longer names refused."""
        sig = significant(tokens)
        head = sig[0].upper if sig else ""
        out = list(tokens)
        prev: Token | None = None
        for k, tok in enumerate(tokens):
            if tok.kind == "qident" and not self.session.case_sensitive and not _names_a_user(head, prev):
                folded = tok.identifier.lower()  # type: ignore[union-attr]
                if folded != tok.identifier:
                    out[k] = tok = Token("qident", quote_ident(folded))
            name = tok.identifier
            if name is not None:
                size = len(name.encode("utf-8"))
                if size > REDSHIFT_MAX_IDENTIFIER:
                    raise Emulated(f"identifier {name[:40]!r}... is {size} bytes; the limit is 127 bytes", "42622")
                if size > POSTGRES_MAX_IDENTIFIER:
                    if self.session.names is None:
                        raise Emulated(f"identifier {name[:40]!r}... is {size} bytes: over 63 bytes needs the "
                                       "endpoint's name mapping", "42622")
                    out[k] = Token("qident", quote_ident(self.session.names.short(name)))
            elif tok.kind == "string" and self.session.names is not None and self.session.names.originals:
                value = string_value(tok)
                if POSTGRES_MAX_IDENTIFIER < len(value.encode("utf-8")) <= REDSHIFT_MAX_IDENTIFIER:
                    short = self.session.names.known_long(value)
                    if short is not None:
                        out[k] = Token("string", quote_literal(short))
            if tok.significant:
                prev = tok
        return out

    def track_session(self, sig: list[Token]) -> None:
        """SET / RESET enable_case_sensitive_identifier change how later statements are folded."""
        head = sig[0].upper
        if head == "SET" and len(sig) >= 3:
            names = [t.identifier for t in sig[1:3]]
            if "enable_case_sensitive_identifier" in names:
                value = sig[-1].text.strip("'\"").lower()
                self.session.case_sensitive = value in TRUE_WORDS
        elif head == "RESET" and len(sig) >= 2:
            if sig[1].identifier in ("enable_case_sensitive_identifier", "all"):
                self.session.case_sensitive = False

    # -- expressions: functions, system views, SYSDATE, types in casts -------------------------------
    def expressions(self, tokens: list[Token]) -> list[Token]:
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            prev = _prev_sig(out)
            qualified = prev is not None and prev.kind == "op" and prev.text == "."
            if tok.kind == "word" and not qualified:
                nxt = _next_sig(tokens, i)
                low = tok.text.lower()
                calls = nxt is not None and nxt.text == "("
                if calls and low in COMPAT_FUNCTIONS:
                    out.append(Token("word", f"{COMPAT}.{low}"))
                    i += 1
                    continue
                if calls and low == "nvl2":
                    rewritten, i = self.nvl2(tokens, i)
                    out.extend(rewritten)
                    continue
                if calls and low in RENAMED_FUNCTIONS:
                    out.append(Token("word", RENAMED_FUNCTIONS[low]))
                    i += 1
                    continue
                if low == "sysdate" and not calls:
                    out.append(Token("word", f"{COMPAT}.sysdate()"))
                    i += 1
                    continue
                if low in COMPAT_RELATIONS and not calls:
                    out.append(Token("word", f"{COMPAT}.{low}"))
                    i += 1
                    continue
                if low == "pg_last_copy_count" and calls:
                    out.append(Token("word", f"{COMPAT}.pg_last_copy_count"))
                    i += 1
                    continue
                typed, consumed = self.type_at(tokens, i)
                if typed is not None:
                    out.extend(typed)
                    i += consumed
                    continue
            out.append(tok)
            i += 1
        return out

    def nvl2(self, tokens: list[Token], i: int) -> tuple[list[Token], int]:
        """NVL2(expr, not_null_value, null_value) as a CASE (a function would need the first
        argument's type, which a bare NULL does not have), and the index after the call."""
        open_at = _skip_ws(tokens, i + 1)
        close = _matching(tokens, open_at)
        args = _split_commas(tokens[open_at + 1 : close])
        if len(args) != 3:
            raise Emulated(f"function nvl2 takes 3 arguments, not {len(args)}", "42883")
        a, b, c = (render(self.expressions(arg)) for arg in args)
        return [Token("word", f"(CASE WHEN ({a}) IS NOT NULL THEN ({b}) ELSE ({c}) END)")], close + 1

    def type_at(self, tokens: list[Token], i: int) -> tuple[list[Token] | None, int]:
        """A Redshift type starting at token i, as Postgres tokens, and how many tokens it spans."""
        tok = tokens[i]
        up = tok.upper
        j, args = _type_args(tokens, i + 1)
        if up == "SUPER":
            return [Token("word", "pg_catalog.super")], 1
        if up in ("VARBYTE", "VARBINARY"):
            return [Token("word", "pg_catalog.varbyte")], j - i
        if up == "BINARY":
            k = _skip_ws(tokens, i + 1)
            if k < len(tokens) and tokens[k].is_word("VARYING"):
                j, _ = _type_args(tokens, k + 1)
                return [Token("word", "pg_catalog.varbyte")], j - i
            return None, 0
        if up in ("VARCHAR", "NVARCHAR", "CHARACTER", "CHAR", "NCHAR", "BPCHAR"):
            base = "varchar" if up in ("VARCHAR", "NVARCHAR") else "char"
            k = _skip_ws(tokens, i + 1)
            if up == "CHARACTER" and k < len(tokens) and tokens[k].is_word("VARYING"):
                base = "varchar"
                j, args = _type_args(tokens, k + 1)
            if args is None:
                return None, 0
            if len(args) == 1 and args[0].upper() == "MAX":
                size = MAX_VARCHAR if base == "varchar" else 4096
            elif len(args) == 1 and args[0].isdigit():
                size = int(args[0])
            else:
                return None, 0
            if base == "varchar" and size > MAX_VARCHAR:
                raise Emulated(f"length for type varchar cannot exceed {MAX_VARCHAR}", "22023")
            return [Token("word", f"{base}({size})")], j - i
        if up in ("NUMERIC", "DECIMAL") and args:
            if args[0].isdigit() and int(args[0]) > MAX_NUMERIC_PRECISION:
                raise Emulated(f"NUMERIC precision {args[0]} must be between 1 and {MAX_NUMERIC_PRECISION}", "22023")
        if up == "IDENTITY" and args and len(args) == 2:
            seed, step = args
            return [Token("word", f"GENERATED BY DEFAULT AS IDENTITY (START WITH {seed} INCREMENT BY {step})")], j - i
        return None, 0

    # -- CREATE TABLE / VIEW ------------------------------------------------------------------
    def create(self, tokens: list[Token], original: str) -> Statement:
        sig = significant(tokens)
        words = [t.upper for t in sig[:6]]
        if "TABLE" in words:
            return Statement(render(self.create_table(tokens)), original)
        if "VIEW" in words:
            bound = self.strip_schema_binding(self.expressions(tokens))
            if len(bound) == len(tokens):
                return Statement(render(bound), original)
            return self.late_binding_view(sig, render(bound), original)
        return Statement(render(self.expressions(tokens)), original)

    @staticmethod
    def late_binding_view(sig: list[Token], ddl: str, original: str) -> Statement:
        """CREATE VIEW ... WITH NO SCHEMA BINDING: created, and recorded as late-binding (a
        VARCHAR widening of a table it reads sets it aside and recreates it, as Redshift does not
        tie it to the table's columns; pg_get_late_binding_view_cols() lists it)."""
        at = next(k for k, t in enumerate(sig) if t.is_word("VIEW"))
        end = next((k for k in range(at + 1, len(sig)) if sig[k].is_word("AS") or sig[k].text == "("), len(sig))
        name = render(sig[at + 1 : end])
        sql = f"SELECT {COMPAT}.create_late_binding_view({quote_literal(name)}, {quote_literal(ddl)})"
        return Statement(sql, original)

    def create_table(self, tokens: list[Token]) -> list[Token]:
        """Strip DISTSTYLE/DISTKEY/SORTKEY/ENCODE/BACKUP, rewrite types, add byte-length checks."""
        out: list[Token] = []
        i = 0
        depth = 0
        body_done = False
        while i < len(tokens):
            tok = tokens[i]
            if depth == 0 and not body_done and tok.text == "(":
                close = _matching(tokens, i)
                out.append(tok)
                out.extend(self.table_elements(tokens[i + 1 : close]))
                out.append(tokens[close])
                i = close + 1
                body_done = True
                continue
            if depth == 0 and tok.kind == "word":
                skip = self.table_attribute_span(tokens, i)
                if skip:
                    i += skip
                    continue
                if tok.is_word("AS"):
                    out.extend(self.expressions(tokens[i:]))
                    return out
            out.append(tok)
            i += 1
        return out

    @staticmethod
    def table_attribute_span(tokens: list[Token], i: int) -> int:
        """Token count of a table attribute (DISTSTYLE x, DISTKEY(c), [COMPOUND|INTERLEAVED] SORTKEY(..),
        SORTKEY AUTO, BACKUP YES|NO, ENCODE AUTO) starting at i, or 0."""
        tok = tokens[i]
        up = tok.upper
        if up in ("COMPOUND", "INTERLEAVED"):
            k = _skip_ws(tokens, i + 1)
            if k < len(tokens) and tokens[k].is_word("SORTKEY"):
                return k - i + Rewriter.table_attribute_span(tokens, k)
            return 0
        if up in ("DISTKEY", "SORTKEY"):
            k = _skip_ws(tokens, i + 1)
            if k < len(tokens) and tokens[k].text == "(":
                return _matching(tokens, k) + 1 - i
            if k < len(tokens) and tokens[k].is_word("AUTO"):
                return k + 1 - i
            return 0
        if up in ("DISTSTYLE", "BACKUP", "ENCODE"):
            k = _skip_ws(tokens, i + 1)
            return k + 1 - i if k < len(tokens) else 0
        return 0

    def table_elements(self, body: list[Token]) -> list[Token]:
        out: list[Token] = []
        for n, element in enumerate(_split_commas(body)):
            if n:
                out.append(Token("op", ","))
            out.extend(self.column_definition(element))
        return out

    def column_definition(self, element: list[Token]) -> list[Token]:
        sig = significant(element)
        if not sig or sig[0].upper in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "LIKE", "DISTKEY", "SORTKEY"):
            return self.expressions(element)
        name = sig[0].identifier or ""
        out: list[Token] = []
        i = 0
        while i < len(element):
            tok = element[i]
            up = tok.upper
            if up in COLUMN_ATTRIBUTES_WITH_ARG:
                k = _skip_ws(element, i + 1)
                i = k + 1
                continue
            if up in COLUMN_ATTRIBUTES and tok is not sig[0]:
                i += 1
                continue
            out.append(tok)
            i += 1
        rewritten = self.expressions(out)
        size = _varchar_size(rewritten)
        if size is not None:
            rewritten = [*rewritten, Token("ws", " "), Token("word", byte_check(name, size))]
        return rewritten

    @staticmethod
    def strip_schema_binding(tokens: list[Token]) -> list[Token]:
        """Late-binding views: WITH NO SCHEMA BINDING has no Postgres equivalent (dropped)."""
        sig_idx = [k for k, t in enumerate(tokens) if t.significant]
        for a, b, c, d in zip(sig_idx, sig_idx[1:], sig_idx[2:], sig_idx[3:], strict=False):
            if [tokens[x].upper for x in (a, b, c, d)] == ["WITH", "NO", "SCHEMA", "BINDING"]:
                return tokens[:a] + tokens[d + 1 :]
        return tokens

    # -- ALTER TABLE --------------------------------------------------------------------------
    def alter_table(self, tokens: list[Token], original: str) -> Statement:
        sig = significant(tokens)
        words = [t.upper for t in sig]
        if "APPEND" in words and "FROM" in words:
            return self.append_from(sig, original)
        actions = _split_commas(tokens)
        if len(actions) > 1:
            raise Emulated("ALTER TABLE: Redshift runs one action per ALTER TABLE statement "
                           "(only one column can be added at a time)", "0A000")
        # ADD [COLUMN] name type ...  |  ALTER [COLUMN] name TYPE varchar(n)
        idx = next((k for k, t in enumerate(tokens) if t.is_word("ADD")), None)
        if idx is not None:
            k = _skip_ws(tokens, idx + 1)
            if k < len(tokens) and tokens[k].is_word("COLUMN"):
                k = _skip_ws(tokens, k + 1)
            if k < len(tokens) and not tokens[k].is_word("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
                head = self.expressions(tokens[:k])
                return Statement(render(head + self.column_definition(tokens[k:])), original)
        alt = [k for k, t in enumerate(tokens) if t.is_word("ALTER")]
        if len(alt) > 1 and any(t.is_word("TYPE") for t in tokens):
            return self.alter_column_type(tokens, alt[1], original)
        return Statement(render(self.expressions(tokens)), original)

    def alter_column_type(self, tokens: list[Token], at: int, original: str) -> Statement:
        """ALTER COLUMN c TYPE VARCHAR(n): the byte-length check moves with the new size."""
        sig = significant(tokens)
        rewritten = self.expressions(tokens)
        size = _varchar_size(rewritten)
        if size is None:
            return Statement(render(rewritten), original)
        k = _skip_ws(tokens, at + 1)
        if tokens[k].is_word("COLUMN"):
            k = _skip_ws(tokens, k + 1)
        column = tokens[k].identifier or ""
        first_alter = next(n for n, t in enumerate(sig) if t is tokens[at])
        table = render(sig[2:first_alter])
        sql = (
            f"SELECT {COMPAT}.alter_varchar({quote_literal(table)}::regclass, {quote_literal(column)}, {size}, "
            f"{quote_literal(byte_check_name(column, size))})"
        )
        return Statement(sql, original, "alter_type")

    def append_from(self, sig: list[Token], original: str) -> Statement:
        words = [t.upper for t in sig]
        target = render(sig[2 : words.index("APPEND")])
        rest = sig[words.index("FROM") + 1 :]
        mode = rest[-1].upper if rest and rest[-1].upper in ("IGNOREEXTRA", "FILLTARGET") else ""
        source = render(rest[:-1] if mode else rest)
        sql = (
            f"SELECT {COMPAT}.append_from({quote_literal(target)}::regclass, {quote_literal(source)}::regclass, "
            f"{quote_literal(mode)})"
        )
        return Statement(sql, original, "append")

    # -- SET / RESET / SHOW of Redshift-only parameters ------------------------------------------
    @staticmethod
    def session_parameter(tokens: list[Token]) -> list[Token]:
        out = list(tokens)
        for k, tok in enumerate(out):
            if tok.kind == "word" and tok.text.lower() in SESSION_PARAMETERS:
                out[k] = Token("word", f"{COMPAT}.{tok.text.lower()}")
                break
        return out

    # -- COPY -----------------------------------------------------------------------------------
    def copy(self, tokens: list[Token], original: str) -> Statement:
        sig = significant(tokens)
        words = [t.upper for t in sig]
        if "FROM" not in words:
            raise Emulated("COPY ... TO is not supported by Redshift; use UNLOAD", "0A000")
        src = sig[words.index("FROM") + 1] if words.index("FROM") + 1 < len(sig) else None
        if src is None or src.kind != "string":
            raise Emulated("COPY from this source is not supported (Redshift reads from s3://, not STDIN)", "0A000")
        return Statement(original, original, "copy", copy=tokens)


def separate_numbers(tokens: list[Token]) -> list[Token]:
    """`THEN 4WHEN` is two tokens to Redshift; Postgres 15 refuses a number run into a word."""
    out: list[Token] = []
    for k, tok in enumerate(tokens):
        out.append(tok)
        if tok.kind == "number" and k + 1 < len(tokens) and tokens[k + 1].kind == "word":
            out.append(Token("ws", " "))
    return out


def navigate_after_subscripts(tokens: list[Token]) -> list[Token]:
    """PartiQL `doc[0].key` (a dot after a subscript can only navigate a SUPER value) as jsonb's
    `doc[0]['key']`; the key is folded like any identifier (quoted ones by the session's case rule)."""
    if not any(t.text == "]" for t in tokens):
        return tokens
    out: list[Token] = []
    k = 0
    while k < len(tokens):
        tok = tokens[k]
        prev = _prev_sig(out)
        nxt = _next_sig(tokens, k)
        if (tok.kind == "op" and tok.text == "." and prev is not None and prev.text == "]" and nxt is not None
                and nxt.kind in ("word", "qident")):
            key = nxt.identifier or ""
            out.extend([Token("op", "["), Token("string", quote_literal(key)), Token("op", "]")])
            k = _skip_ws(tokens, k + 1) + 1
            continue
        out.append(tok)
        k += 1
    return out


def alias_subqueries(tokens: list[Token]) -> list[Token]:
    """`FROM (SELECT ...)` / `JOIN (SELECT ...)` without an alias get one (rs_subquery_N)."""
    starts: list[int] = []
    prev: Token | None = None
    for k, tok in enumerate(tokens):
        if tok.kind == "op" and tok.text == "(" and prev is not None and prev.is_word("FROM", "JOIN"):
            nxt = _next_sig(tokens, k)
            if nxt is not None and nxt.is_word("SELECT", "WITH"):
                starts.append(k)
        if tok.significant:
            prev = tok
    if not starts:
        return tokens
    inserts: list[int] = []
    for k in starts:
        close = _matching(tokens, k)
        after = _next_sig(tokens, close)
        if after is None or (after.kind == "op" and after.text in (")", ",", ";")) or after.upper in NOT_AN_ALIAS:
            inserts.append(close + 1)
    out = list(tokens)
    for n, at in enumerate(sorted(inserts, reverse=True)):
        out[at:at] = [Token("ws", " "), Token("word", f"AS rs_subquery_{len(inserts) - n}")]
    return out


def byte_check_name(column: str, size: int) -> str:
    digest = hashlib.sha1(column.encode("utf-8")).hexdigest()[:10]
    return f"rs_bytes_{size}_{digest}"


def byte_check(column: str, size: int) -> str:
    """A CHECK constraint that makes VARCHAR(n) count bytes, as Redshift does. Its name carries n, so
    the proxy can turn a violation into Redshift's 'value too long' error."""
    name = quote_ident(byte_check_name(column, size))
    return f"CONSTRAINT {name} CHECK (octet_length({quote_ident(column)}) <= {size})"


def _varchar_size(tokens: list[Token]) -> int | None:
    for tok in tokens:
        if tok.kind == "word" and tok.text.startswith("varchar(") and tok.text.endswith(")"):
            return int(tok.text[8:-1])
    return None


def _skip_ws(tokens: list[Token], i: int) -> int:
    while i < len(tokens) and not tokens[i].significant:
        i += 1
    return i


def _prev_sig(tokens: list[Token]) -> Token | None:
    for tok in reversed(tokens):
        if tok.significant:
            return tok
    return None


def _next_sig(tokens: list[Token], i: int) -> Token | None:
    k = _skip_ws(tokens, i + 1)
    return tokens[k] if k < len(tokens) else None


def _matching(tokens: list[Token], i: int) -> int:
    depth = 0
    for k in range(i, len(tokens)):
        if tokens[k].text == "(":
            depth += 1
        elif tokens[k].text == ")":
            depth -= 1
            if depth == 0:
                return k
    return len(tokens) - 1


def _type_args(tokens: list[Token], i: int) -> tuple[int, list[str] | None]:
    """Index after an optional (a, b) argument list starting at i, and the arguments."""
    k = _skip_ws(tokens, i)
    if k < len(tokens) and tokens[k].text == "(":
        close = _matching(tokens, k)
        args = [render(part).strip() for part in _split_commas(tokens[k + 1 : close])]
        return close + 1, args
    return i, None


def _split_commas(tokens: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        if tok.text == "," and depth == 0 and tok.kind == "op":
            parts.append([])
            continue
        parts[-1].append(tok)
    return parts


#: words that make the head of an INSERT (before VALUES) need the full rewrite
#: (substring tests on the lower-cased text: a false hit only means the slow, exact path)
_REWRITE_WORDS = tuple(sorted(
    COMPAT_FUNCTIONS | set(RENAMED_FUNCTIONS) | COMPAT_RELATIONS
    | {"sysdate", "pg_last_copy_count", "super", "varbyte", "varbinary", "identity", "nvl2", ";"}
))
_PLAIN_INSERT = re.compile(r"\s*INSERT\s+INTO\s(?P<head>.*?)\bVALUES\b", re.IGNORECASE | re.DOTALL)


def _needs_rewrite(sql: str) -> bool:
    """Does any rewrite word occur as a whole word (e.g. not 'len' inside a random row id)?"""
    low = sql.lower()
    for word in _REWRITE_WORDS:
        start = low.find(word)
        while start >= 0:
            end = start + len(word)
            before = low[start - 1] if start else " "
            after = low[end] if end < len(low) else " "
            if word == ";" or not (_is_word_char(before) or _is_word_char(after)):
                return True
            start = low.find(word, start + 1)
    return False


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c in "_$"


def rewrite_sql(sql: str, session: Session | None = None) -> list[Statement]:
    """Split and rewrite a query string (what a Query message carries). `session` (the client
    connection's) is updated by the SET statements among them."""
    from shipload.local.proxy.sqltokens import split_statements

    rewriter = Rewriter(session)
    plain = _PLAIN_INSERT.match(sql[:262144])
    if plain and not _needs_rewrite(sql[: plain.end("head")]):
        # fast path for big multi-row INSERTs (16 MB statements): only the head (table and column
        # names) is tokenized, for case folding and long names; a VALUES list of literals passes
        # unchanged (plain_insert.py)
        values = plain_values(sql[plain.end() :])
        if values is not None:
            end = plain.end("head")
            try:
                head = render(rewriter.identifiers(tokenize(sql[:end])))
            except Emulated as exc:
                return [Statement(error_sql(exc.message, exc.code), sql.strip(), "error")]
            return [Statement(head + sql[end : plain.end()] + values, sql.strip())]
    return [rewriter.rewrite(stmt) for stmt in split_statements(tokenize(sql))]


def _names_a_user(head: str, prev: Token | None) -> bool:
    """Is a quoted name after `prev` a user or group name (whose case Redshift always keeps)?"""
    if prev is None:
        return False
    return prev.is_word("USER", "ROLE", "GROUP") or (head in ("GRANT", "REVOKE") and prev.is_word("TO", "FROM"))
