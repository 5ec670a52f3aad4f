"""The GPU check's record: environment, bars (met or not) and its Markdown.

Issue 20's bars, each ``"met"``, ``"not met"``, ``"not measured"`` (its stage
failed or was cut short) or ``"n/a"`` with the reason:

* SA++'s training step of ResNet-50 in bf16 costs at most 1.10 dense steps
  (``n/a`` with ``--tiny``: a tiny model on a CPU measures nothing);
* ``pruner.step()`` makes no host synchronization, over every pruner and both
  models (``n/a`` on the CPU, which has none to make);
* the run killed and resumed under ``torchrun`` ends with the weights of the
  uninterrupted run, bit for bit, on the process-group backend of the device
  (NCCL on CUDA; gloo on the CPU with ``--tiny``).

The exit status is 1 when a stage did not end ``"ok"`` or a bar is not met or
not measured, else 0.
"""

from __future__ import annotations

import dataclasses
import platform

import torch

from ..results import markdown_table

__all__ = ["STEP_BAR", "bars", "environment", "gpu_markdown", "gpu_record"]

#: Issue 20: SA++'s ResNet-50 step time over dense, bf16, on the GPU.
STEP_BAR = 1.10


def environment(device: torch.device) -> dict:
    """The device, its memory and the torch / CUDA / cuDNN / NCCL versions."""
    env = {
        "device": str(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": None,
        "nccl": None,
    }
    if device.type != "cuda":
        return {**env, "device_name": platform.processor() or platform.machine()}
    props = torch.cuda.get_device_properties(device)
    nccl = torch.cuda.nccl.version()
    return {
        **env,
        "device_name": props.name,
        "memory_gib": props.total_memory / 2**30,
        "capability": f"{props.major}.{props.minor}",
        "cudnn": torch.backends.cudnn.version(),
        "nccl": ".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl),
    }


def _result(stages, name):
    entry = stages.get(name, {})
    return entry.get("result") if entry.get("status") == "ok" else None


def _step_bar(stages, tiny) -> dict:
    bar = {"bar": f"SA++ step time <= {STEP_BAR:.2f}x dense (ResNet-50, bf16)"}
    result = _result(stages, "resnet50")
    ratio = None
    if result is not None:
        ratio = next(r for r in result["rows"] if r["method"] == "sapp").get("ratio")
    if tiny:
        return {**bar, "value": ratio, "status": "n/a (--tiny: not a measurement)"}
    if ratio is None:
        return {**bar, "value": None, "status": "not measured"}
    return {**bar, "value": ratio, "status": "met" if ratio <= STEP_BAR else "not met"}


def _sync_bar(stages, device) -> dict:
    bar = {"bar": "no host sync in pruner.step()"}
    if device.type != "cuda":
        return {**bar, "value": None, "status": "n/a (CPU)"}
    counts = []
    for name in ("resnet50", "criteo"):
        result = _result(stages, name)
        if result is None:
            return {**bar, "value": None, "status": "not measured"}
        counts += [r.get("syncs_in_pruner_step") for r in result["rows"][1:]]
    if any(c is None for c in counts):
        return {**bar, "value": None, "status": "not measured"}
    total = sum(counts)
    return {**bar, "value": total, "status": "met" if total == 0 else "not met"}


def _resume_bar(stages, device) -> dict:
    expected = "nccl" if device.type == "cuda" else "gloo"
    bar = {"bar": f"resume under torchrun ({expected}) equals the uninterrupted run"}
    result = _result(stages, "torchrun_resume")
    if result is None:
        return {**bar, "value": None, "status": "not measured"}
    value = f"max abs diff {result['max_abs_diff']:.3g}, backend {result['backend']}"
    met = result["bit_identical"] and result["backend"] == expected
    return {**bar, "value": value, "status": "met" if met else "not met"}


def bars(stages: dict, device: torch.device, tiny: bool) -> list[dict]:
    """Issue 20's bars from the stages' records (see the module docstring)."""
    return [
        _step_bar(stages, tiny),
        _sync_bar(stages, device),
        _resume_bar(stages, device),
    ]


def gpu_record(meta, env, settings, stages, device) -> dict:
    """The whole record: metadata, environment, settings, stages, bars, status."""
    checked = bars(stages, device, settings.tiny)
    failed = any(entry["status"] != "ok" for entry in stages.values()) or any(
        b["status"] in ("not met", "not measured") for b in checked
    )
    return {
        "meta": meta,
        "environment": env,
        "settings": dataclasses.asdict(settings),
        "stages": stages,
        "bars": checked,
        "exit_status": 1 if failed else 0,
    }


def _bar_value(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _cell(value, spec):
    return "-" if value is None else format(value, spec)


def _training_lines(title, result) -> list[str]:
    unit = result["unit"]
    header = [
        "method",
        "timeline",
        "ms/step",
        f"{unit}/s",
        "vs dense",
        "ms by phase",
        "peak GiB",
        "syncs in step()",
        "other syncs/step",
        "block sparsity",
    ]
    body = []
    for r in result["rows"]:
        if "step_ms" not in r:
            body.append([r["method"], r["status"], *["-"] * 8])
            continue
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["phase_ms"].items())
        body.append(
            [
                r["method"],
                r["timeline"],
                _cell(r["step_ms"], ".2f"),
                _cell(r["samples_per_s"], ".0f"),
                _cell(r["ratio"], ".3f") + "x" * (r["ratio"] is not None),
                phases or "-",
                _cell(r["peak_memory_gib"], ".2f"),
                _cell(r["syncs_in_pruner_step"], "d"),
                _cell(r["syncs_elsewhere_per_step"], ".1f"),
                _cell(r["block_sparsity"], ".3f"),
            ]
        )
    overrides = result["overrides"] or "none"
    return [
        f"## {title}",
        "",
        f"Recipe `{result['recipe']}` (overrides: {overrides}), batch "
        f"{result['batch']}, {result['steps']} steps of which the first "
        f"{result['warmup']} untimed, {result['precision']}, channels_last "
        f"{result['channels_last']}. Each pruner on its paper timeline compressed "
        "to these steps.",
        "",
        *markdown_table(header, body),
        "",
    ]


def _resume_lines(result) -> list[str]:
    ranks = result["ranks"]
    header = ["run", "backend", "world size", "device", "bf16 autocast"]
    body = [
        [name, r["backend"], r["world_size"], r["device"], r["bf16_autocast"]]
        for name, r in ranks.items()
    ]
    steps = result["steps"] or "the recipe's"
    return [
        "## `sapp train` under torchrun: killed, resumed, compared",
        "",
        f"Recipe `{result['recipe']}`, {steps} steps, options "
        f"`{' '.join(result['options'])}`. The second run was SIGKILLed after step "
        f"{result['killed_at_step']} (exit status {result['killed_exit_status']}) "
        f"and resumed from the checkpoint of step {result['resumed_from_step']}. "
        f"Final weights ({result['n_tensors']} tensors): bit-identical "
        f"{result['bit_identical']}, max abs difference "
        f"{result['max_abs_diff']:.3g}; logged training losses equal "
        f"{result['train_losses_equal']}.",
        "",
        *markdown_table(header, body),
        "",
    ]


def _export_lines(result) -> list[str]:
    header = ["layer", "dtype", "block", "batch", "dense ms", "sparse ms", "speedup"]
    body = [
        [
            "x".join(map(str, r["shape"])) + f" Linear, {r['sparsity']:.0%}",
            r["dtype"],
            r["block"],
            r["batch"],
            f"{r['dense_ms']:.3f}",
            f"{r['sparse_ms']:.3f}",
            f"{r['speedup']:.2f}x" + (f" ({r['cuda_path']})" if r["cuda_path"] else ""),
        ]
        for r in result["linear"]
    ]
    lines = ["## Export, timed on the device", "", *markdown_table(header, body), ""]
    resnet = result.get("resnet50")
    if resnet is None:
        return [*lines, "ResNet-50: not reached (stage budget spent).", ""]
    model = resnet["model"]
    lines += [
        f"ResNet-50 (overrides: {resnet['overrides'] or 'none'}), pruned layers "
        f"timed on a batch of {resnet['batch']}: {resnet['n_block_sparse']} of "
        f"{resnet['n_pruned']} exported block-sparse (CUDA products: "
        f"{resnet['cuda_paths'] or 'none'}); sum of the layers' dense times "
        f"{resnet['dense_ms_total']:.2f} ms, of the chosen forms "
        f"{resnet['chosen_ms_total']:.2f} ms. Whole model: dense "
        f"{model['dense_ms']:.2f} ms, exported {model['exported_ms']:.2f} ms "
        f"({model['speedup']:.2f}x), max relative error "
        f"{model['max_relative_error']:.2g}.",
        "",
    ]
    header = ["layer", "shape", "density", "dense ms", "sparse ms", "decision"]
    body = [
        [
            r["name"],
            "x".join(map(str, r["weight_shape"])),
            f"{r['density']:.3f}",
            _cell(r["dense_ms"], ".3f"),
            _cell(r["sparse_ms"], ".3f"),
            f"{r['decision']}: {r['reason']}",
        ]
        for r in resnet["layers"]
    ]
    return [*lines, *markdown_table(header, body), ""]


def gpu_markdown(record: dict) -> str:
    """The report of :func:`gpu_record` as Markdown."""
    meta, env, stages = record["meta"], record["environment"], record["stages"]
    versions = ", ".join(
        f"{k} {env[k]}" for k in ("torch", "cuda", "cudnn", "nccl") if env[k]
    )
    memory = f" ({env['memory_gib']:.1f} GiB)" if "memory_gib" in env else ""
    lines = [
        "# GPU check (`sapp bench gpu`)",
        "",
        f"Command: `{meta['command']}`; device {env['device']}: "
        f"{env['device_name']}{memory}; {versions}; machine: {meta['machine']}.",
        "",
    ]
    if record["settings"]["tiny"]:
        lines += [
            "A smoke run at tiny sizes (`--tiny`): it runs every code path of the "
            "check; its figures measure nothing.",
            "",
        ]
    lines += [
        "## Bars",
        "",
        *markdown_table(
            ["bar", "value", "status"],
            [[b["bar"], _bar_value(b["value"]), b["status"]] for b in record["bars"]],
        ),
        "",
        "## Stages",
        "",
        *markdown_table(
            ["stage", "status", "wall s", "budget s", "error"],
            [
                [
                    name,
                    e["status"],
                    f"{e.get('wall_s', 0.0):.1f}",
                    f"{e['budget_s']:.0f}",
                    e.get("error", "").splitlines()[0] if e.get("error") else "",
                ]
                for name, e in stages.items()
            ],
        ),
        "",
    ]
    sections = (
        ("resnet50", lambda r: _training_lines("ResNet-50 training step", r)),
        ("criteo", lambda r: _training_lines("Criteo DNN training step", r)),
        ("torchrun_resume", _resume_lines),
        ("export", _export_lines),
    )
    for name, render in sections:
        result = stages.get(name, {}).get("result")  # over budget: shown as well
        if result is not None:
            lines += render(result)
    errors = [(n, e["error"]) for n, e in stages.items() if e.get("error")]
    if errors:
        lines += ["## Errors", ""]
        for name, text in errors:
            lines += [f"`{name}`:", "", "```", text, "```", ""]
    return "\n".join(lines).rstrip() + "\n"
