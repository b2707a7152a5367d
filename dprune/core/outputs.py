"""The record of the files a step wrote, one type for every step that writes files."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class OutputFiles:
    """Base of a frozen dataclass whose fields are the paths a step wrote."""

    def to_dict(self) -> dict[str, str]:
        """The paths as strings, for logs, JSON and Prefect results."""
        return {field.name: str(getattr(self, field.name)) for field in fields(self)}
