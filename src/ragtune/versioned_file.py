"""A record kept as one JSON file that names its schema version: written whole or not at all (beside the file,
then renamed over it, so a kill never leaves half a record), and read back with an error that says whether the
file is damaged or from another version."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, TypeVar

from pydantic import BaseModel, Field, ValidationError

from ragtune.errors import RagtuneError


class Versioned(BaseModel):
    """A record with its schema version; a subclass gives ``schema_`` its version as the default."""

    schema_: str = Field(alias="schema")
    older: ClassVar[tuple[str, ...]] = ()
    """Earlier versions still read: their records lack only fields that have defaults. Read, they are the
    current version (saved again, they say so)."""


R = TypeVar("R", bound=Versioned)


def save(path: Path, record: Versioned, indent: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(record.model_dump_json(by_alias=True, indent=indent))
    tmp.replace(path)


def load(path: Path, kind: type[R], what: str) -> R:
    """The record in ``path``; ``what`` names it in the error ("a corpus snapshot")."""
    try:
        record = kind.model_validate_json(path.read_text())
    except ValidationError as e:
        raise RagtuneError(f"{path} is not {what}: {e}") from None
    expected = kind.model_fields["schema_"].default
    if record.schema_ not in (expected, *kind.older):
        raise RagtuneError(f"{path} is {record.schema_}; this version reads {', '.join((expected, *kind.older))}")
    return record.model_copy(update={"schema_": expected})
