"""Property-based: odd text (any unicode, rich-markup brackets, control characters, U+2028/U+0085, NUL,
chat-template tokens) through ingest → search → ask, terminal and JSON output, and through `data validate`.
Nothing crashes (a documented exit status, never a traceback) and no stored chunk is lost. Derandomized and
few examples, so CI runs the same cases every time."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ragtune.cli.app import app
from ragtune.errors import RagtuneError

runner = CliRunner()
ODD = ["[/section]", "[red]", "[/red]", "[citation needed]", "[1]", "[/]", "<|im_start|>", "<|im_end|>",
       "<|endoftext|>", "##begin_quote##", "<ANSWER>:", "\u2028", "\u0085", "\x00", "\r", "\t", "\x1b[31m", "\ufeff",
       "\u200b", "é", "数据", "🙂", "\\", "{", "}", "%s", "Zanzibar", " ", "\n"]
UNICODE = st.characters(exclude_categories=("Cs",))  # lone surrogates cannot be written as UTF-8
TEXT = st.lists(st.one_of(st.sampled_from(ODD), st.text(UNICODE, max_size=12)), max_size=14).map("".join)

def few(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Result:
    exit_code: int
    stdout: str
    output: str


def run(*args) -> Result:
    """The command as the entry point (``cli.app.main``) ends it: a RagtuneError is exit 2 with its message;
    any other exception is a crash."""
    r = runner.invoke(app, [str(a) for a in args])
    if isinstance(r.exception, RagtuneError):
        assert str(r.exception) and r.stdout == "", (args, r.exception)
        return Result(2, "", f"error: {r.exception}")
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exception)
    return Result(r.exit_code, r.stdout, r.output)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    root = tmp_path_factory.mktemp("props")
    proj = root / "p"
    assert run("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted",
               "--set", "answer.min_relevance=0", "--set", "answer.min_coverage=0").exit_code == 0
    (root / "seed").mkdir()
    (root / "seed" / "seed.txt").write_text("Zanzibar is an island. Its capital is Stone Town.\n")
    assert run("ingest", root / "seed", "-p", proj).exit_code == 0
    return root, proj, itertools.count()


def stored_chunks(proj) -> int:
    return json.loads(run("project", "show", "-p", proj, "--json").stdout)["chunks"]


@few(15)  # each example runs nine commands
@given(text=TEXT)
def test_odd_text_through_ingest_search_and_ask(kb, text):
    root, proj, counter = kb
    folder = root / f"d{next(counter)}"
    folder.mkdir()
    (folder / "doc.txt").write_text(text, encoding="utf-8", newline="")
    before = stored_chunks(proj)
    r = run("ingest", folder, "-p", proj, "--json")
    assert r.exit_code in (0, 3), r.output  # 3: the file was skipped, with the reason listed
    report = json.loads(r.stdout)
    assert (r.exit_code == 3) == bool(report["skipped"])
    assert stored_chunks(proj) == before + report["chunks"]  # nothing stored was lost
    for query in (text, f"{text} Zanzibar"):
        for cmd in ("search", "ask"):
            as_json = run(cmd, query, "-p", proj, "--json")
            shown = run(cmd, query, "-p", proj)
            assert as_json.exit_code == shown.exit_code, (as_json.output, shown.output)
            if as_json.exit_code == 0:
                json.loads(as_json.stdout)
            else:  # only a question with nothing to search for is refused as bad input
                assert as_json.exit_code == 2 and not query.strip(), as_json.output
    assert stored_chunks(proj) == before + report["chunks"]


def example(content: str) -> bytes:
    row = {"messages": [{"role": "user", "content": f"Q {content}"}, {"role": "assistant", "content": f"A {content}"}]}
    return json.dumps(row, ensure_ascii=False).encode()


GARBAGE = st.one_of(st.binary(max_size=30), st.text(UNICODE, max_size=30).map(str.encode)).filter(
    lambda b: b"\n" not in b)
LINE = st.one_of(TEXT.map(lambda t: ("ok", example(t.replace("\n", " ")))), GARBAGE.map(lambda b: ("bad", b)))


@few(40)
@given(lines=st.lists(LINE, max_size=15))
def test_data_validate_reports_each_bad_line_and_keeps_the_good_ones(tmp_path_factory, lines):
    f = tmp_path_factory.mktemp("chat") / "t.jsonl"
    f.write_bytes(b"\n".join(b for _, b in lines) + b"\n")
    r = run("data", "validate", f, "--base", "words", "--json")
    assert r.exit_code in (0, 1), r.output  # 1: errors found, listed
    report = json.loads(r.stdout)
    bad = set()
    for n, (kind, raw) in enumerate(lines, start=1):
        if kind == "bad":
            try:
                text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError:
                bad.add(n)
                continue
            if text.strip():
                bad.add(n)
    reported = {int(m[1]) for e in report["errors"] if (m := re.match(rf"error: {re.escape(str(f))}:(\d+): ", e))}
    assert reported == bad, report["errors"]
    assert report["stats"]["files"][0]["examples"] == sum(kind == "ok" for kind, _ in lines)
    assert run("data", "validate", f, "--base", "words").exit_code == r.exit_code
