from pathlib import Path

import pytest

from conftest import write_files
from ragtune.documents.discover import SourceFile, discover
from ragtune.documents.loaders import Problem, loader_for
from ragtune.documents.types import Document


def load(path: Path, doc_id: str = "id") -> list:
    loader = loader_for(path)
    assert loader is not None, path
    return list(loader.load(path, doc_id))


def load_one(path: Path, doc_id: str = "id") -> Document:
    out = load(path, doc_id)
    assert len(out) == 1 and isinstance(out[0], Document), out
    return out[0]


def load_problem(path: Path) -> Problem:
    out = load(path)
    assert len(out) == 1 and isinstance(out[0], Problem), out
    return out[0]


def make_pdf(text: str | None) -> bytes:
    """A minimal one-page PDF, written by hand: a Helvetica text stream, or an empty page."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text is not None else b""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


# --- markdown -----------------------------------------------------------------------------------

def test_markdown_front_matter_becomes_metadata_and_title(tmp_path):
    path = write_files(tmp_path, {"a.md": "---\ntitle: Refund policy\ndate: 2024-03-05\n"
                                          "updated: 2024-03-05 10:30:00\nversion: 3\ndraft: false\nscore: 0.5\n"
                                          "empty:\n---\n# Heading\n\nBody text.\n"})
    doc = load_one(path / "a.md", "kb/a.md")
    assert doc.doc_id == "kb/a.md" and doc.source == str(path / "a.md")
    assert doc.title == "Refund policy"
    assert doc.text == "# Heading\n\nBody text."
    assert doc.metadata == {"date": "2024-03-05", "updated": "2024-03-05T10:30:00", "version": 3,
                            "draft": False, "score": 0.5}


def test_markdown_title_falls_back_to_heading_then_file_name(tmp_path):
    write_files(tmp_path, {"h.md": "Intro line\n\n# The Heading\n\ntext", "plain.md": "no heading here"})
    assert load_one(tmp_path / "h.md").title == "The Heading"
    assert load_one(tmp_path / "plain.md").title == "plain"
    assert load_one(tmp_path / "plain.md").metadata == {}


def test_markdown_bad_front_matter_and_empty_body(tmp_path):
    write_files(tmp_path, {"bad.md": "---\ntitle: [unclosed\n---\ntext", "nobody.md": "---\ntitle: x\n---\n\n"})
    assert "front matter" in load_problem(tmp_path / "bad.md").message
    assert "no text" in load_problem(tmp_path / "nobody.md").message


# --- html / txt ---------------------------------------------------------------------------------

def test_html_drops_furniture_and_keeps_title(tmp_path):
    html = ("<html><head><title> Webhook guide </title><style>p{color:red}</style>"
            "<script>var secret = 'tracking';</script></head><body>"
            "<nav>Home | Products | Login</nav><header>Site header</header>"
            "<h1>Webhooks</h1><p>Deliveries are retried eight times.</p>"
            "<footer>Copyright footer</footer><script>alert('x')</script></body></html>")
    write_files(tmp_path, {"page.html": html})
    doc = load_one(tmp_path / "page.html")
    assert doc.title == "Webhook guide"
    assert "Webhooks" in doc.text and "Deliveries are retried eight times." in doc.text
    for junk in ("tracking", "alert", "Products", "Site header", "Copyright", "color:red"):
        assert junk not in doc.text


def test_html_without_visible_text_is_a_problem(tmp_path):
    write_files(tmp_path, {"x.htm": "<html><body><script>1</script><nav>menu</nav></body></html>"})
    assert "no visible text" in load_problem(tmp_path / "x.htm").message


def test_txt(tmp_path):
    write_files(tmp_path, {"notes.txt": "\ufeff  Plain notes.\nSecond line.  \n"})
    doc = load_one(tmp_path / "notes.txt", "d/notes.txt")
    assert (doc.doc_id, doc.title, doc.text) == ("d/notes.txt", "notes", "Plain notes.\nSecond line.")


@pytest.mark.parametrize("name, content, reason", [
    ("bin.txt", b"\x00\x01\x02binary\x00", "binary"),
    ("empty.txt", b"", "empty file"),
    ("blank.md", b"  \n\n \t", "empty file"),
    ("latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "not valid UTF-8"),
    ("latin1.html", b"<p>caf\xe9</p>", "not valid UTF-8"),
])
def test_unreadable_text_files_are_problems(tmp_path, name, content, reason):
    write_files(tmp_path, {name: content})
    problem = load_problem(tmp_path / name)
    assert reason in problem.message and problem.source == str(tmp_path / name)


# --- pdf ----------------------------------------------------------------------------------------

def test_pdf_with_text(tmp_path):
    (tmp_path / "glaciers.pdf").write_bytes(make_pdf("Glaciers move about one metre a day."))
    doc = load_one(tmp_path / "glaciers.pdf", "p/glaciers.pdf")
    assert doc.text == "Glaciers move about one metre a day."
    assert doc.title == "glaciers" and doc.metadata == {"pages": 1}


def test_pdf_title_from_its_metadata(tmp_path):
    from pypdf import PdfReader, PdfWriter

    (tmp_path / "src.pdf").write_bytes(make_pdf("Some text."))
    writer = PdfWriter(clone_from=PdfReader(tmp_path / "src.pdf"))
    writer.add_metadata({"/Title": "Annual report"})
    with (tmp_path / "titled.pdf").open("wb") as f:
        writer.write(f)
    assert load_one(tmp_path / "titled.pdf").title == "Annual report"


def test_pdf_without_text_is_a_problem(tmp_path):
    (tmp_path / "scan.pdf").write_bytes(make_pdf(None))
    assert "no extractable text" in load_problem(tmp_path / "scan.pdf").message


def test_corrupt_pdf_is_a_problem(tmp_path):
    (tmp_path / "junk.pdf").write_bytes(b"this is not a pdf at all")
    assert "unreadable PDF" in load_problem(tmp_path / "junk.pdf").message


# --- BEIR jsonl ---------------------------------------------------------------------------------

def test_jsonl_bad_lines_are_reported_by_number_and_the_rest_loads(tmp_path):
    lines = ['{"_id": "d1", "title": "One", "text": "first text", "year": 2020, "tags": null}',
             '{"_id": "d2", "text": "second',                      # 2: malformed
             '',                                                   # 3: blank, ignored
             '{"title": "no id", "text": "x"}',                    # 4: missing _id
             '{"_id": "d5", "title": "no text"}',                  # 5: missing text
             '["not", "an", "object"]',                            # 6
             '{"_id": "d7", "text": "   "}',                       # 7: empty text
             '{"_id": 8, "text": "eighth text", "extra": {"a": 1}}']
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = load(tmp_path / "corpus.jsonl")
    docs = [d for d in out if isinstance(d, Document)]
    problems = {p.line: p.message for p in out if isinstance(p, Problem)}
    assert [(d.doc_id, d.title, d.text) for d in docs] == [("d1", "One", "first text"), ("8", "", "eighth text")]
    assert docs[0].metadata == {"year": 2020}
    assert docs[1].metadata == {"extra.a": 1}  # nested fields become dotted keys
    assert sorted(problems) == [2, 4, 5, 6, 7]
    assert "malformed JSON" in problems[2]
    assert "_id" in problems[4] and "text" in problems[5]
    assert str(Problem(str(tmp_path / "corpus.jsonl"), "m", line=2)).endswith("corpus.jsonl:2: m")


def test_jsonl_undecodable_line(tmp_path):
    (tmp_path / "c.jsonl").write_bytes(b'{"_id": "a", "text": "ok"}\n{"_id": "b", "text": "caf\xe9"}\n')
    out = load(tmp_path / "c.jsonl")
    assert isinstance(out[0], Document) and isinstance(out[1], Problem) and out[1].line == 2


# --- discover -----------------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "kb"
    write_files(root, {"a.md": "a", "b.txt": "b", "sub/c.md": "c", "sub/d.html": "<p>d</p>",
                       "sub/drafts/e.md": "e", "image.png": b"\x89PNG", ".hidden.md": "h",
                       ".git/config.txt": "g", "sub/.cache/f.txt": "f"})
    return root


def _ids(items):
    return sorted(i.doc_id for i in items if isinstance(i, SourceFile))


def test_discover_walks_folders_skipping_hidden_and_unsupported(tree):
    items = list(discover([tree]))
    assert not [i for i in items if isinstance(i, Problem)]
    assert _ids(items) == ["kb/a.md", "kb/b.txt", "kb/sub/c.md", "kb/sub/d.html", "kb/sub/drafts/e.md"]
    assert all(i.path.is_file() for i in items)


def test_discover_include_and_exclude_globs(tree):
    assert _ids(discover([tree], include=["*.md"])) == ["kb/a.md", "kb/sub/c.md", "kb/sub/drafts/e.md"]
    assert _ids(discover([tree], include=["*.md"], exclude=["sub/drafts/*"])) == ["kb/a.md", "kb/sub/c.md"]
    assert _ids(discover([tree], include=["sub/*"])) == ["kb/sub/c.md", "kb/sub/d.html", "kb/sub/drafts/e.md"]
    assert _ids(discover([tree], exclude=["*.md", "*.html"])) == ["kb/b.txt"]


def test_discover_single_files_and_missing_paths(tree, tmp_path):
    items = list(discover([tree / "sub" / "c.md", tree / "image.png", tmp_path / "nope"]))
    assert _ids(items) == ["c.md"]
    problems = [i for i in items if isinstance(i, Problem)]
    assert len(problems) == 2
    assert "unsupported file type '.png'" in problems[0].message
    assert problems[1].source == str(tmp_path / "nope") and "no such file" in problems[1].message
