"""The snake_case naming convention: turns any key into a safe, lower-case SQL identifier.

Rules (applied in this order):
1. leading/trailing white space is removed;
2. camelCase and PascalCase words are split: ``userId`` -> ``user_id``, ``HTTPCode`` -> ``http_code``;
3. ``+`` and ``*`` become ``x``, ``@`` becomes ``a``, ``|`` becomes ``l``, ``-`` becomes ``_``;
4. every other character outside ``[a-z0-9_]`` (after lower-casing; non-ASCII letters included) becomes ``_``;
5. runs of ``_`` collapse to one, so ``__`` stays reserved as the separator of nested paths;
6. a name starting with a digit gets a ``_`` prefix; trailing ``_`` become ``x`` (``a_`` -> ``ax``);
7. an empty result becomes ``_``;
8. a name longer than the destination's limit keeps its head and tail and gets a 6-character tag
   derived from a hash of the *original* name in the middle, so shortening is stable and distinct.

Case and length are the naming convention's business; the dialect only quotes what it is given.
"""

from __future__ import annotations

import base64
import hashlib
import re

from shipload.exceptions import SchemaError

PATH_SEPARATOR = "__"
_CAMEL_1 = re.compile(r"([^_\W])([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_SPECIAL = str.maketrans({"+": "x", "*": "x", "@": "a", "|": "l", "-": "_"})
_NOT_ALLOWED = re.compile(r"[^a-z0-9_]")
_UNDERSCORES = re.compile(r"_+")
_TRAILING = re.compile(r"_+$")


class SnakeCaseNaming:
    """Normalizes identifiers; `max_length` is the destination's identifier limit (bytes = chars here)."""

    def __init__(self, max_length: int | None = None) -> None:
        self.max_length = max_length
        self._cache: dict[str, str] = {}

    def normalize_identifier(self, name: str) -> str:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        result = self.shorten(self._snake(name), name)
        self._cache[name] = result
        return result

    def normalize_reference(self, name: str) -> str:
        """A column named in a hint (``playerId``, ``white__eloRating``): each ``__``-separated part
        normalized like a key, so hints may name nested columns as the data or the table does."""
        if PATH_SEPARATOR not in name:
            return self.normalize_identifier(name)
        parts = [self._snake(p) for p in name.split(PATH_SEPARATOR)]
        return self.normalize_path(*parts)

    def verbatim_identifier(self, name: str) -> str:
        """A name the user typed and the destination uses as given (a dataset name): only folded to
        this convention's lower case, and refused, not shortened, when longer than the limit."""
        folded = name.lower()
        size = len(folded.encode("utf-8"))
        if self.max_length is not None and size > self.max_length:
            raise SchemaError(f"identifier {folded!r} is {size} bytes; the destination allows {self.max_length}")
        return folded

    def normalize_path(self, *parts: str) -> str:
        """Join already-normalized parts into a nested name (`parent__child`), shortened if needed."""
        joined = PATH_SEPARATOR.join(parts)
        return self.shorten(joined, joined)

    @staticmethod
    def _snake(name: str) -> str:
        name = name.strip()
        name = _CAMEL_1.sub(r"\1_\2", name)
        name = _CAMEL_2.sub(r"\1_\2", name)
        name = name.translate(_SPECIAL).lower()
        name = _NOT_ALLOWED.sub("_", name)
        name = _UNDERSCORES.sub("_", name)
        if name and name[0].isdigit():
            name = "_" + name
        if len(name) > 1 and name.endswith("_"):
            stripped = _TRAILING.sub("", name)
            name = stripped + "x" * (len(name) - len(stripped))
        return name or "_"

    def shorten(self, name: str, original: str) -> str:
        if self.max_length is None or len(name) <= self.max_length:
            return name
        tag = _tag(original)
        keep = self.max_length - len(tag)
        head = keep // 2
        return name[:head] + tag + name[len(name) - (keep - head):]


def _tag(value: str) -> str:
    digest = hashlib.shake_128(value.encode("utf-8")).digest(6)
    return base64.b32encode(digest).decode("ascii").lower()[:6]
