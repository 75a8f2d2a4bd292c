from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ragtune.cli.common import DEFAULT_PROJECT, JsonOpt, ProjectOpt, out, print_json
from ragtune.cli.options import SinceOpt, open_log, parse_since

app = typer.Typer(no_args_is_help=True, help="A/B tests between served variants.")


def _ci(r: dict) -> str:
    return "–" if r["rate"] is None else f"{r['rate']:.1%} [{r['low']:.1%}, {r['high']:.1%}] (n={r['n']})"


@app.command("report")
def report_cmd(
    since: SinceOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="also count requests that named their model (not randomised)")
                    ] = False,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_: JsonOpt = False,
):
    """Per variant: requests, feedback and approval rates with 95% intervals, latency p50/p95, and whether the
    approval rate differs significantly from the control (the variant with most requests)."""
    from ragtune.serve.ab_report import report

    r = report(open_log(project).rows(parse_since(since)), assigned_only=not all_)
    if json_:
        print_json(r)
        return
    t = Table("variant", "requests", "feedback rate", "approval (up) rate", "latency p50 ms", "p95 ms",
              "vs control", title=f"A/B report (control: {r['control']}; "
                                   f"{'all requests' if all_ else 'A/B-assigned requests only'})")
    for name, v in r["variants"].items():
        vs = v["vs_control"]
        verdict = "control" if vs is None else ("no feedback" if vs["p_value"] is None else
                                                f"{'significant' if vs['significant'] else 'not significant'} "
                                                f"(p={vs['p_value']:.3g})")
        t.add_row(name, str(v["requests"]), _ci(v["feedback_rate"]), _ci(v["up_rate"]),
                  f"{v['latency_ms_p50']:.1f}", f"{v['latency_ms_p95']:.1f}", verdict)
    out.print(t)
