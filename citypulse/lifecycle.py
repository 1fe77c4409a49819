"""What is started and stopped (a broker, a server, a process) is a context manager one way."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["Running"]


class Running:
    """``with thing:`` starts it (:meth:`start` returns it) and stops it on the way out."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> object:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
