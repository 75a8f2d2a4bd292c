"""Training through ``accelerate launch`` (one CPU process here; one per GPU on a GPU machine) and a
job exported as an Axolotl config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ragtune.cli.app import app
from ragtune.finetune.jobs import JobStore
from ragtune.finetune.launchers import write_accelerate_config
from ragtune.finetune.trainer import TuneConfig, job_dir

runner = CliRunner()


def chat_file(path: Path, n: int = 12) -> Path:
    rows = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                          {"role": "assistant", "content": f"ANSWER: {2 * i}"}]} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_accelerate_launch_trains_the_job_in_its_own_process(tmp_path, tiny_base):
    project = tmp_path / "p"
    r = runner.invoke(app, ["tune", "start", "--train", str(chat_file(tmp_path / "t.jsonl")), "--base", str(tiny_base),
                            "--max-steps", "2", "--batch-size", "4", "--grad-accum", "1", "--max-seq-len", "64",
                            "--launcher", "accelerate", "--num-processes", "1", "-p", str(project), "--json"])
    assert r.exit_code == 0, r.output
    job = json.loads(r.stdout)
    store = JobStore(project / "jobs.db")
    assert store.get(job["id"]).status == "succeeded"
    assert [s["step"] for s in store.steps(job["id"])] == [1, 2]
    assert (job_dir(project, job["id"]) / "adapter" / "adapter_config.json").exists()
    config = yaml.safe_load((job_dir(project, job["id"]) / "accelerate.yaml").read_text())
    assert (config["num_processes"], config["distributed_type"], config["use_cpu"]) == (1, "NO", True)


def test_a_gpu_machine_gets_one_ddp_process_per_gpu(tmp_path, monkeypatch):
    from accelerate.commands.config.config_args import load_config_from_file

    import ragtune.finetune.launchers as launchers

    monkeypatch.setattr(launchers, "gpu_count", lambda: 4)
    path = write_accelerate_config(tmp_path / "acc.yaml")
    loaded = load_config_from_file(str(path))  # accelerate's own reader, as `accelerate launch` uses it
    assert (loaded.num_processes, loaded.distributed_type.value, loaded.mixed_precision, loaded.use_cpu,
            loaded.gpu_ids) == (4, "MULTI_GPU", "bf16", False, "all")
    assert load_config_from_file(str(write_accelerate_config(tmp_path / "two.yaml", 2))).num_processes == 2


def make_job(tmp_path: Path, base: str, val: bool = True, **cfg):
    store = JobStore(tmp_path / "p" / "jobs.db")
    train = chat_file(tmp_path / "train.jsonl")
    valf = chat_file(tmp_path / "val.jsonl", 3) if val else None
    return store.create(base, str(train), "s", str(valf) if valf else None, "v" if val else None,
                        vars(TuneConfig(**cfg)))


def export(tmp_path: Path, job_id: str) -> dict:
    out = tmp_path / "axolotl.yaml"
    r = runner.invoke(app, ["tune", "export", job_id, "--axolotl", str(out), "-p", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    return yaml.safe_load(out.read_text())


def test_axolotl_config_carries_the_jobs_settings(tmp_path):
    job = make_job(tmp_path, "smollm2-135m", lr=3e-4, epochs=2.0, lora_r=8, lora_alpha=16, lora_dropout=0.1,
                   batch_size=2, grad_accum=4, max_seq_len=512, seed=5, max_steps=30)
    cfg = export(tmp_path, job.id)
    assert cfg["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"  # what the packaged GGUF was quantised from
    assert {k: cfg[k] for k in ("adapter", "lora_r", "lora_alpha", "lora_dropout", "lora_target_linear",
                                 "learning_rate", "num_epochs", "max_steps", "micro_batch_size",
                                 "gradient_accumulation_steps", "sequence_len", "seed")} == {
        "adapter": "lora", "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "lora_target_linear": True,
        "learning_rate": 3e-4, "num_epochs": 2.0, "max_steps": 30, "micro_batch_size": 2,
        "gradient_accumulation_steps": 4, "sequence_len": 512, "seed": 5}
    train = cfg["datasets"][0]
    assert train["path"] == str(tmp_path / "train.jsonl")
    assert (train["type"], train["field_messages"], train["roles_to_train"]) == ("chat_template", "messages",
                                                                                  ["assistant"])
    assert cfg["test_datasets"][0]["path"].endswith("val.jsonl") and cfg["evals_per_epoch"] == 1


def test_a_model_folder_is_its_own_checkpoint_and_no_val_means_no_eval(tmp_path, tiny_base):
    cfg = export(tmp_path, make_job(tmp_path, str(tiny_base), val=False).id)
    assert cfg["base_model"] == str(Path(tiny_base).resolve())
    assert "test_datasets" not in cfg and "max_steps" not in cfg


def test_axolotl_loads_it_with_its_own_schema(tmp_path):
    schema = pytest.importorskip("axolotl.utils.schemas.config",
                                 reason="axolotl pins exact torch/transformers/peft versions that conflict with "
                                        "ragtune's; install it with --no-deps (or in its own venv) to run this")
    import pydantic

    cfg = export(tmp_path, make_job(tmp_path, "smollm2-135m", max_steps=10).id)
    loaded = schema.AxolotlInputConfig.model_validate(cfg)
    assert (loaded.lora_r, loaded.micro_batch_size, loaded.datasets[0].field_messages) == (16, 4, "messages")
    assert loaded.datasets[0].roles_to_train == ["assistant"]
    with pytest.raises(pydantic.ValidationError):  # the schema does reject a wrong value
        schema.AxolotlInputConfig.model_validate({**cfg, "excess_length_strategy": "cut"})
