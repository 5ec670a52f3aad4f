"""Issue 20's bars, the exit status and the Markdown of ``sapp bench gpu``."""

import pytest
import torch

from benchmarks.gpu.report import STEP_BAR, bars, gpu_markdown, gpu_record
from benchmarks.gpu.settings import settings_for

CUDA = torch.device("cuda", 0)
CPU = torch.device("cpu")


def _training(sapp_ratio, syncs=0):
    rows = [{"method": "dense", "ratio": 1.0, "syncs_in_pruner_step": None}]
    rows += [
        {"method": m, "ratio": 1.0, "syncs_in_pruner_step": syncs}
        for m in ("magnitude", "powerprop", "acdc")
    ]
    rows.append({"method": "sapp", "ratio": sapp_ratio, "syncs_in_pruner_step": 0})
    return {"status": "ok", "result": {"rows": rows}}


def _resume(identical=True, backend="nccl", diff=0.0):
    result = {"bit_identical": identical, "backend": backend, "max_abs_diff": diff}
    return {"status": "ok", "result": result}


def _stages(ratio=1.05, syncs=0, **resume):
    return {
        "resnet50": _training(ratio, syncs),
        "criteo": _training(1.0, 0),
        "torchrun_resume": _resume(**resume),
        "export": {"status": "ok", "result": {}},
    }


def _statuses(stages, device=CUDA, tiny=False):
    return [b["status"] for b in bars(stages, device, tiny)]


def test_all_bars_met_on_the_gpu():
    assert _statuses(_stages()) == ["met", "met", "met"]


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (_stages(ratio=STEP_BAR + 0.01), ["not met", "met", "met"]),
        (_stages(syncs=2), ["met", "not met", "met"]),
        (_stages(identical=False, diff=1e-7), ["met", "met", "not met"]),
        (_stages(backend=None), ["met", "met", "not met"]),  # no process group
    ],
)
def test_each_bar_fails_on_its_own(stages, expected):
    assert _statuses(stages) == expected


def test_a_failed_stage_leaves_its_bars_not_measured():
    stages = _stages()
    stages["resnet50"] = {"status": "error", "error": "OutOfMemoryError: ..."}
    assert _statuses(stages) == ["not measured", "not measured", "met"]


def test_cpu_and_tiny_bars_are_not_applicable():
    stages = _stages(backend="gloo")
    assert _statuses(stages, CPU, tiny=True) == [
        "n/a (--tiny: not a measurement)",
        "n/a (CPU)",
        "met",
    ]


def _record(stages, device=CUDA):
    meta = {"command": "sapp bench gpu", "machine": "x86_64, 16 cores, Linux"}
    env = {
        "device": "cuda:0",
        "device_name": "NVIDIA H200",
        "memory_gib": 139.8,
        "torch": "2.11.0",
        "cuda": "13.0",
        "cudnn": 91000,
        "nccl": "2.27.3",
    }
    return gpu_record(meta, env, settings_for(False, "cuda"), stages, device)


def test_exit_status_is_1_when_a_stage_or_a_bar_fails():
    assert _record(_stages())["exit_status"] == 0
    assert _record(_stages(ratio=2.0))["exit_status"] == 1
    stages = _stages()
    stages["export"] = {"status": "over budget", "result": {"linear": []}}
    assert _record(stages)["exit_status"] == 1


def test_markdown_names_the_device_and_the_errors():
    stages = _stages()
    stages["export"] = {
        "status": "error",
        "error": "RuntimeError: boom\nmore",
        "budget_s": 45.0,
        "wall_s": 1.0,
    }
    for entry in stages.values():
        entry.setdefault("budget_s", 10.0)
    stages["resnet50"].pop("result")  # rendered sections need full results
    stages["criteo"].pop("result")
    stages["torchrun_resume"].pop("result")
    text = gpu_markdown(_record(stages))
    assert "NVIDIA H200 (139.8 GiB)" in text and "nccl 2.27.3" in text
    assert "| export | error | 1.0 | 45 | RuntimeError: boom |" in text
    assert "## Errors" in text and "more" in text
