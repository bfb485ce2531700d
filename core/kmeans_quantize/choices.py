"""Named choices (the k-means seeding, the dithering): str-valued enums.

Users pass plain strings; every list of the names (command-line ``choices``, error
messages) is read from the enum, so adding a choice is one line here.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

__all__ = ["Choice", "Init", "Dither"]

_C = TypeVar("_C", bound="Choice")


class Choice(str, Enum):
    """A choice among names; a member is equal to (and formats as) its name."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names, in the order they are offered."""
        return tuple(member.value for member in cls)

    @classmethod
    def parse(cls: type[_C], value: object, what: str) -> _C:
        """The member named ``value``.

        Raises
        ------
        ValueError
            ``unknown WHAT 'VALUE'; choose one of A, B, C`` if no member has that name.
        """
        if isinstance(value, str) and value in cls._value2member_map_:
            return cls(value)
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(cls.names())}")


class Init(Choice):
    """How k-means seeds its starting centres."""

    KMEANS_PLUS_PLUS = "k-means++"
    RANDOM = "random"


class Dither(Choice):
    """How pixels are mapped to the palette."""

    NONE = "none"
    FLOYD_STEINBERG = "floyd-steinberg"
    ORDERED = "ordered"
