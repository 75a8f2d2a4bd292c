"""``ragtune raft build``: RAFT fine-tuning data from the project's index."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated

import typer

from ragtune.app.variants import resolve
from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, field_docs, open_project, out, print_json, progress_bars
from ragtune.cli.options import BaseUrlOpt, ChunksOpt, GenerateQuestionsOpt, ModelOpt, require_index
from ragtune.errors import RagtuneError
from ragtune.raft.build import RaftConfig, build, raft_builder, read_qa

app = typer.Typer(no_args_is_help=True, help="RAFT training data: questions, oracle and distractor chunks, "
                                             "quoting targets.")
_D, _DOCS = RaftConfig(), field_docs(RaftConfig)


@app.command("build")
def build_cmd(
    out_path: Annotated[Path, typer.Option("--out", help="chat JSONL to write (provenance beside it, .meta.jsonl)")],
    qa: Annotated[Path | None, typer.Option("--qa", help="JSONL of {question, answer[, source]}: each question's "
                                                         "oracle chunk is located through retrieval")] = None,
    generate_questions: GenerateQuestionsOpt = 0,
    chunks: ChunksOpt = 100,
    distractors: Annotated[int, typer.Option(help=_DOCS["distractors"])] = _D.distractors,
    p_oracle: Annotated[float, typer.Option(help=_DOCS["p_oracle"])] = _D.p_oracle,
    distractor_source: Annotated[str, typer.Option(help=_DOCS["distractor_source"])] = _D.distractor_source,
    target: Annotated[str, typer.Option(help=_DOCS["target"])] = _D.target,
    candidates: Annotated[int, typer.Option(help=_DOCS["candidates"])] = _D.candidates,
    mode: Annotated[str, typer.Option(help=_DOCS["mode"])] = _D.mode,
    seed: Annotated[int, typer.Option(help=_DOCS["seed"])] = _D.seed,
    limit: Annotated[int | None, typer.Option(help="only the first N questions")] = None,
    plain: Annotated[bool, typer.Option("--plain", help="plain fine-tuning data instead of RAFT, to compare them: "
                                                        "the oracle passage alone and the short cited answer "
                                                        "(--distractors 0 --p-oracle 1 --target answer)")] = False,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Build RAFT examples (oracle chunk among hard-negative distractors, or distractors only) as chat
    JSONL that `ragtune data validate` accepts and `ragtune tune start` trains on. Re-running an
    interrupted build continues where it stopped."""
    if (qa is None) == (generate_questions <= 0):
        raise RagtuneError("give either --qa QA.jsonl or --generate-questions N")
    cfg = RaftConfig(distractors, p_oracle, distractor_source, target, candidates, mode, seed)
    if plain:
        cfg = RaftConfig.plain(distractor_source=distractor_source, candidates=candidates, mode=mode, seed=seed)
    p = open_project(project)
    require_index(p)
    builder = raft_builder(p, cfg)
    report: dict = {}
    with progress_bars(not json_) as progress:
        if qa is not None:
            items = read_qa(qa)
        else:
            from ragtune.raft.questions import generate_questions as generate

            ids = random.Random(seed).sample(builder.chunk_ids, min(chunks, len(builder.chunk_ids)))
            asker = p.generator(resolve(p, "base", model=model, base_url=base_url).generator)
            items, rejected = generate(p.store.get(ids), asker, generate_questions,
                                       out_path.with_name(out_path.name + ".questions.part"),
                                       progress=lambda n: progress("chunks asked", n))
            report["questions_generated"] = {"kept": len(items), "rejected": rejected}
            if not items:
                raise RagtuneError(f"no generated question passed the filters ({rejected}); try a stronger "
                                   "model with --model or --base-url")
        report.update(build(builder, items[:limit], out_path, progress=lambda n: progress("examples", n)))
    report["config"] = vars(cfg)
    if json_:
        print_json(report)
    else:
        out.print(f"wrote {report['examples']} examples to {out_path} ({report['with_oracle']} with their oracle "
                  f"chunk, {report['skipped']} questions skipped: no oracle found); next: "
                  f"ragtune data validate {out_path}")
