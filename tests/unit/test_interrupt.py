"""Ctrl-C during the ingest of a large file, sent to a real `ragtune ingest` process: it stops (exit 130,
with a message) and a re-run leaves exactly what a clean ingest does."""

import os
import signal
import textwrap

import pytest

from conftest import make_project, run_child, write_files
from conftest import store_snapshot as snapshot
from ragtune.config import ComponentSpec
from ragtune.project import Project
from ragtune.rag.ingest import ingest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
CHUNKER = ComponentSpec(type="token", params={"max_tokens": 64, "overlap": 8, "tokenizer": "whitespace"})

# The CLI as installed, with its progress callback also reporting each stage on stdout.
DRIVER = textwrap.dedent("""
    import sys
    import time
    from contextlib import contextmanager
    import ragtune.cli.common as common

    real = common.progress_bars

    stop_stage = sys.argv[1]
    reports = []

    @contextmanager
    def reporting(enabled=True):
        with real(enabled) as advance:
            def both(stage, n, total=None):
                name = stage.split()[0]
                reports.append(name)
                print(name, n, flush=True)
                if reports.count(stop_stage) == 3:
                    # on a loaded machine the parent may read this report late: waiting for its signal here keeps
                    # the interrupt inside the stage it is meant for (the sleep only bounds a test that fails)
                    time.sleep(120)
                advance(stage, n, total)
            yield both

    common.progress_bars = reporting
    from ragtune.cli.app import main
    sys.argv = ["ragtune", "ingest", *sys.argv[2:]]
    main()
""")


def big_text() -> str:
    paras = [" ".join(f"Paragraph {p} sentence {s} names item{p * 10 + s} and topic{s}." for s in range(10))
             for p in range(6000)]
    return "\n\n".join(paras)  # about 4 MB: many sections, many chunk batches


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interrupt")
    docs = write_files(tmp / "docs", {"big.txt": big_text(), "small/a.txt": "Alpha apples.",
                                      "small/b.txt": "Bravo bananas."})
    clean = make_project(tmp / "clean", chunker=CHUNKER)
    report = ingest(clean, [docs])
    assert report.added == 3 and report.chunks > 2000
    (tmp / "driver.py").write_text(DRIVER)
    return tmp, docs, snapshot(clean)


@pytest.mark.parametrize("stage", ["chunking", "embedding"])
def test_ctrl_c_stops_ingest_and_a_rerun_equals_a_clean_ingest(setup, stage):
    tmp, docs, expected = setup
    proj = tmp / f"interrupted-{stage}"
    make_project(proj, chunker=CHUNKER)
    code, _, err = run_child([str(tmp / "driver.py"), stage, str(docs), "-p", str(proj)],
                             # well into this stage of the big file
                             lambda lines: [line.split()[0] for line in lines].count(stage) == 3,
                             lambda proc: proc.send_signal(signal.SIGINT))
    assert code == 130, err
    assert "interrupted" in err
    p = Project(proj)
    documents = p.store.documents() if (proj / "store").exists() else {}
    assert "docs/big.txt" not in documents or not documents["docs/big.txt"].complete
    report = ingest(p, [docs])
    assert report.added + report.updated >= 1 and not report.problems
    assert snapshot(p) == expected
    assert p.bm25.is_current()
    assert p.retriever.search("item59993", k=1, mode="bm25")[0].chunk.doc_id == "docs/big.txt"
