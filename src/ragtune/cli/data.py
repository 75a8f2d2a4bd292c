from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ragtune.cli.common import JsonOpt, console, out, print_json, styled
from ragtune.finetune.chat_tokens import chat_counter
from ragtune.finetune.split import split
from ragtune.finetune.validate import validate

app = typer.Typer(no_args_is_help=True, help="Check and split chat fine-tuning data (OpenAI JSONL).")
EXIT_INVALID = 1

BaseOpt = Annotated[str, typer.Option(
    help="base model whose tokenizer and chat template count tokens: smollm2-135m, qwen2.5-coder-0.5b, a GGUF "
         "file, a model folder, or 'words' (a fast approximation)")]


@app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(help="training file: {\"messages\": [...]} per line (or prompt/completion)")],
    val: Annotated[Path | None, typer.Option(help="validation file, checked too and for overlap with FILE")] = None,
    base: BaseOpt = "smollm2-135m",
    max_seq_len: Annotated[int | None, typer.Option(help="training sequence length (default: the model's context)")
                           ] = None,
    json_: JsonOpt = False,
):
    """Check every line (JSON, roles, order, empty content, unknown keys, length, duplicates, leakage).

    Exit status 1 when there are errors; warnings alone exit 0."""
    report = validate(file, chat_counter(base), val, max_seq_len)
    if json_:
        print_json(report.to_dict())
    else:
        for f in report.findings:
            style = "red" if f.severity == "error" else "yellow"
            console.print(Text(str(f), style=style))
        t = Table("file", "examples", "tokens min", "median", "max", "truncated", "tokens/epoch",
                  title=f"chat data (max_seq_len {report.stats['max_seq_len']})")
        for s in report.stats["files"]:
            t.add_row(s["file"], str(s["examples"]), str(s["tokens_min"]), f"{s['tokens_median']:g}",
                      str(s["tokens_max"]), str(s["truncated"]), str(s["tokens_per_epoch"]))
        out.print(t)
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


@app.command("split")
def split_cmd(
    file: Annotated[Path, typer.Argument(help="chat JSONL to split")],
    val: Annotated[float, typer.Option("--val", help="share held out for validation (the guide: 0.1–0.2)")] = 0.15,
    seed: Annotated[int, typer.Option(help="shuffle seed: the same seed gives the same split")] = 0,
    out_dir: Annotated[Path | None, typer.Option(help="where FILE.train.jsonl and FILE.val.jsonl go")] = None,
    force: Annotated[bool, typer.Option(help="overwrite existing split files")] = False,
    json_: JsonOpt = False,
):
    """Write FILE.train.jsonl and FILE.val.jsonl; exact duplicates stay on one side."""
    if not 0.1 <= val <= 0.2:
        console.print(styled("warning:", "yellow", f"holding out {val:.0%}; the guide recommends 10–20%"))
    train_path, val_path, n_train, n_val = split(file, val, seed, out_dir, force)
    result = {"train": str(train_path), "val": str(val_path), "train_examples": n_train, "val_examples": n_val}
    if json_:
        print_json(result)
    else:
        out.print(f"{n_train} training examples -> {train_path}\n{n_val} validation examples -> {val_path}")
