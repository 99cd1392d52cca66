"""Excel import of org units and cadres: all-or-nothing, every bad row listed in Chinese.

(being written — see the helper's task)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RowError:
    row: int | None  # spreadsheet row number (1-based, as Excel shows it); None for file-level errors
    message: str


@dataclass
class ImportResult:
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def template_bytes(kind: str) -> bytes:
    raise NotImplementedError


def import_units(actor, fileobj) -> ImportResult:
    raise NotImplementedError


def import_cadres(actor, fileobj) -> ImportResult:
    raise NotImplementedError
