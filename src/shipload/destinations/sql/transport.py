"""Transports: the driver side of a SQL destination (connect, execute, transactions, errors).

Statements arrive fully rendered: every identifier and literal was produced by the dialect. Every
driver call the client makes goes through `call`, the one place driver errors become shipload
errors (terminal or transient), BEGIN and COMMIT included: a connection lost at COMMIT is transient."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


class SqlTransport(ABC):
    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement (or a script); returns fetched rows, or [] when there are none."""

    @abstractmethod
    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query."""

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    @abstractmethod
    def translate_error(self, exc: BaseException) -> BaseException:
        """A shipload error (terminal or transient) for a driver error, or `exc` itself."""

    def call(self, action: Callable[..., T], *args: Any) -> T:
        """Run one driver call; a driver error comes out translated by `translate_error`."""
        try:
            return action(*args)
        except Exception as exc:
            translated = self.translate_error(exc)
            if translated is exc:
                raise
            raise translated from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.call(self.begin)
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                self.rollback()
            raise
        self.call(self.commit)

    def execute_many(self, statements: Sequence[str]) -> None:
        for sql in statements:
            self.execute(sql)
