from __future__ import annotations

import pytest
from pydantic import Field

from ragtune import versioned_file
from ragtune.errors import RagtuneError
from ragtune.versioned_file import Versioned


class Note(Versioned):
    schema_: str = Field("test.note/2", alias="schema")
    text: str


def test_a_record_comes_back_as_written_and_no_partial_file_is_left(tmp_path):
    path = tmp_path / "deep" / "note.json"
    versioned_file.save(path, Note(text="hello"))
    assert versioned_file.load(path, Note, "a note") == Note(text="hello")
    assert '"schema": "test.note/2"' in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == ["note.json"]


def test_a_damaged_file_and_another_version_are_told_apart(tmp_path):
    path = tmp_path / "note.json"
    path.write_text('{"schema": "test.note/2", "text": ')
    with pytest.raises(RagtuneError, match="is not a note"):
        versioned_file.load(path, Note, "a note")
    path.write_text('{"schema": "test.note/1", "text": "old"}')
    with pytest.raises(RagtuneError, match=r"is test\.note/1; this version reads test\.note/2"):
        versioned_file.load(path, Note, "a note")


class NoteWithTitle(Versioned):
    schema_: str = Field("test.note/3", alias="schema")
    older = ("test.note/2",)
    text: str
    title: str = ""


def test_an_older_version_still_read_comes_back_as_the_current_one(tmp_path):
    path = tmp_path / "note.json"
    versioned_file.save(path, Note(text="old"))
    note = versioned_file.load(path, NoteWithTitle, "a note")
    assert note == NoteWithTitle(text="old") and note.schema_ == "test.note/3"
    versioned_file.save(path, note)
    assert '"schema": "test.note/3"' in path.read_text()
    path.write_text('{"schema": "test.note/1", "text": "older"}')
    with pytest.raises(RagtuneError, match=r"is test\.note/1; this version reads test\.note/3, test\.note/2"):
        versioned_file.load(path, NoteWithTitle, "a note")
