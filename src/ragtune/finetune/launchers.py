"""How a local job's training process is started: the job's own ``tune run`` in this process's
interpreter, or under ``accelerate launch`` with a config file written by accelerate's own config
classes, so the same TRL trainer runs data-parallel (DDP) on every GPU of the machine, or in one
process on a CPU."""

from __future__ import annotations

import sys
from pathlib import Path


def run_command(project: Path, job_id: str) -> list[str]:
    """``ragtune tune run JOB``: train a created job in a process of its own (what --detach starts)."""
    return [sys.executable, "-m", "ragtune.cli.app", "tune", "run", job_id, "-p", str(project)]


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def write_accelerate_config(path: Path, num_processes: int | None = None) -> Path:
    """An accelerate config for this machine: one process per GPU (DDP, bf16) by default; a single
    CPU process where there is no GPU."""
    from accelerate.commands.config.config_args import ClusterConfig
    from accelerate.utils import ComputeEnvironment, DistributedType

    gpus = gpu_count()
    n = num_processes or max(gpus, 1)
    distributed = DistributedType.MULTI_GPU if gpus and n > 1 else DistributedType.NO
    config = ClusterConfig(compute_environment=ComputeEnvironment.LOCAL_MACHINE, distributed_type=distributed,
                           mixed_precision="bf16" if gpus else "no", use_cpu=not gpus, debug=False, num_processes=n,
                           num_machines=1, machine_rank=0, gpu_ids="all" if gpus else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    config.to_yaml_file(path)
    return path


def accelerate_command(config: Path, project: Path, job_id: str) -> list[str]:
    """``accelerate launch`` running ``ragtune tune run JOB`` in each process."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
            *run_command(project, job_id)[1:]]
