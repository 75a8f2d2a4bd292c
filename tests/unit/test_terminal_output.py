"""What reaches the terminal: the user's text exactly as written (never read as rich markup), flag names whole
in a narrow terminal's help, and no library log lines at the default verbosity."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from conftest import run_main, write_files
from ragtune.cli.app import app

runner = CliRunner()
ODD = "Value [red]a[/red] see [/section] Zanzibar [citation needed] and [bold]."


def cli(*args, env=None):
    r = runner.invoke(app, [str(a) for a in args], env=env)
    assert r.exit_code == 0, (r.exit_code, r.stdout, r.stderr, r.exception)
    return r


@pytest.fixture
def odd(tmp_path):
    write_files(tmp_path / "m", {"m.txt": ODD + "\n"})
    proj = tmp_path / "p"
    cli("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted",
        "--set", "answer.min_relevance=0", "--set", "answer.min_coverage=0")
    cli("ingest", tmp_path / "m", "-p", proj)
    return proj


def test_brackets_in_a_document_are_shown_as_written_by_search_and_ask(odd):
    shown = " ".join(cli("search", "Zanzibar", "-k", "1", "-p", odd).stdout.split())
    for piece in ("[red]a[/red]", "[/section]", "[citation needed]", "[bold]"):
        assert piece in shown, shown
    a = cli("ask", "What does Zanzibar see?", "-p", odd).stdout
    assert "[/section] Zanzibar [citation needed]" in " ".join(a.split())


def test_an_error_quoting_brackets_is_printed_not_parsed(odd, monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "search", "x", "--filter", "[/x]", "-p", odd)
    assert code == 2 and out == "" and err.startswith("error:") and "[/x]" in err


def test_the_bakeoff_table_keeps_its_bracketed_legend(odd, tmp_path):
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"_id": "1", "question": "What does Zanzibar see?", "answer": "section"}) + "\n")
    r = cli("bakeoff", "--questions", q, "--variants", "rag", "--out", tmp_path / "bo", "-p", odd)
    assert "mean [bootstrap 95% interval]" in " ".join(r.stdout.split())


def _commands(group, path=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, TyperGroup):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def test_help_in_a_narrow_terminal_shows_every_flag_name_whole():
    commands = list(_commands(get_command(app)))
    assert len(commands) > 30
    for path, cmd in commands:
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "40", "TERMINAL_WIDTH": "40"})
        assert r.exit_code == 0, (path, r.output)
        words = set(r.stdout.replace(",", " ").split())
        for p in cmd.params:
            for flag in (o for o in p.opts + p.secondary_opts if o.startswith("--")):
                assert flag in words, (path, flag, r.stdout)


def test_library_logs_stay_off_the_terminal_unless_asked_for(odd, tmp_path, monkeypatch, capsys, request):
    """Libraries log DEBUG lines during an ingest (filelock at every take of the project's write lock); the root
    handler that a library's logging.warning() call installs used to print them. -vv shows them, as it should."""
    write_files(tmp_path / "more", {"n.txt": "Another note about Zanzibar.\n"})
    leftover = logging.StreamHandler(sys.stderr)  # what a library's logging.warning() call leaves on the root
    logging.getLogger().addHandler(leftover)
    request.addfinalizer(lambda: logging.getLogger().removeHandler(leftover))
    code, _, err = run_main(monkeypatch, capsys, "ingest", tmp_path / "more", "-p", odd)
    assert code == 0 and "DEBUG" not in err, err
    write_files(tmp_path / "more", {"o.txt": "A third note about Zanzibar.\n"})
    code, _, err = run_main(monkeypatch, capsys, "-vv", "ingest", tmp_path / "more", "-p", odd)
    assert code == 0 and "DEBUG filelock: Lock" in err, err


def test_a_broken_pdf_is_one_problem_naming_the_file_not_raw_pypdf_lines(tmp_path, monkeypatch, capsys):
    cut = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\n"  # no xref, no %%EOF
    write_files(tmp_path / "d", {"ok.txt": "A readable note.\n", "cut.pdf": cut})
    proj = tmp_path / "p"
    cli("project", "init", "-p", proj, "--embedder", "hashing", "--generator", "scripted")
    code, _, err = run_main(monkeypatch, capsys, "ingest", tmp_path / "d", "-p", proj)
    assert code == 3, err  # the index was updated, one file skipped
    assert err.count("EOF marker not found") == 1
    assert f"skipped {tmp_path / 'd' / 'cut.pdf'}: unreadable PDF:" in err and "(pypdf: EOF marker not found)" in err
