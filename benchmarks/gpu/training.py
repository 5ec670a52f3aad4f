"""Training-step time of a model dense and with each pruner, on the check's device.

For a :class:`~benchmarks.gpu.settings.TrainingCase`, every method trains a
fresh model (seed 0) for ``steps`` steps on one synthetic batch generated on the
device (no data loading in the timed window): dense, then magnitude, powerprop,
ACDC and SA++, each built by its recipe (the case's recipe with ``--method``),
so each runs on its paper timeline compressed to ``steps``; phase switches are
therefore far more frequent than in a real run, which makes the pruned step
times an upper bound. The optimizer is the recipe's at a constant learning rate
scaled to the batch. One step is forward under bf16 autocast (where the device
has it; float32 otherwise, said in ``precision``) -> loss -> backward ->
``optimizer.step()`` -> ``pruner.step()``.

Reported per method: the mean step time over the steps after ``warmup`` (and
per phase kind), samples per second, the ratio to dense, the peak GPU memory
(``torch.cuda.max_memory_allocated``), the host synchronizations inside
``pruner.step()`` over the whole run and those of the rest of the step per
untimed warm-up step (:mod:`benchmarks.gpu.timing`), and the block sparsity of
the finalized model (``finalize()`` and ``report()`` run on the device too).
"""

from __future__ import annotations

import contextlib
import gc
import statistics
from collections import defaultdict

import torch

from neural.models import CriteoDNN
from neural.pruning import METHODS
from neural.recipes import load_recipe
from neural.recipes.build import build_model, pruner_factory
from neural.train import build_optimizer, call_model, compute_loss

from .timing import StepClock, SyncCounter

__all__ = ["METHOD_ORDER", "precision", "synthetic_batch", "training_stage"]

#: Dense first: the ratios divide by its step time.
METHOD_ORDER = ("dense", *METHODS)


def precision(device: torch.device) -> tuple[str, object]:
    """The name of the forward's precision and a factory of its context."""
    if torch.amp.is_autocast_available(device.type):
        return "bf16 autocast", lambda: torch.autocast(
            device_type=device.type, dtype=torch.bfloat16
        )
    return f"float32 (torch has no autocast on {device.type})", contextlib.nullcontext


def synthetic_batch(model, recipe, batch: int, device, channels_last: bool):
    """``(inputs, target)`` of random data shaped for ``model``, made on ``device``."""
    generator = torch.Generator(device=device).manual_seed(0)
    if isinstance(model, CriteoDNN):
        buckets = torch.tensor(model.buckets, device=device)
        dense = torch.randn(batch, 13, device=device, generator=generator)
        uniform = torch.rand(
            batch, len(model.buckets), device=device, generator=generator
        )
        categorical = (uniform * buckets).long()
        labels = torch.randint(0, 2, (batch,), device=device, generator=generator)
        return (dense, categorical), labels.float()
    size = recipe.data["image_size"]
    images = torch.randn(batch, 3, size, size, device=device, generator=generator)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    classes = recipe.model["num_classes"]
    labels = torch.randint(0, classes, (batch,), device=device, generator=generator)
    return images, labels


def _setup(case, method, device):
    recipe = load_recipe(
        case.recipe,
        method=None if method == "dense" else method,
        assignments=case.assignments,
    )
    config = recipe.train_config()
    torch.manual_seed(0)
    model = build_model(recipe).to(device)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(
        model.parameters(),
        config.optimizer,
        lr=config.lr * case.batch / config.batch_size,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
        betas=config.betas,
        eps=config.eps,
    )
    pruner = None
    if method != "dense":
        pruner = pruner_factory(recipe)(model, optimizer, case.steps)
    batch = synthetic_batch(model, recipe, case.batch, device, case.channels_last)
    return recipe, config, model, optimizer, pruner, batch


def _train(case, method, device, budget, autocast) -> dict:
    recipe, config, model, optimizer, pruner, (inputs, target) = _setup(
        case, method, device
    )
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    clock, syncs, phases = StepClock(device), SyncCounter(device), []
    output = loss = None
    clock.mark()
    for step in range(case.steps):
        if budget.expired():
            break
        phases.append("dense" if pruner is None else pruner.phase.kind)
        # The rest of the step is censused on untimed warm-up steps only.
        census = 0 < step < case.warmup
        with syncs.count("elsewhere") if census else contextlib.nullcontext():
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                output = call_model(model, inputs)
            loss = compute_loss(config.loss, output, target)
            loss.backward()
            optimizer.step()
        if pruner is not None:
            with syncs.count("pruner.step"):
                pruner.step()
        clock.mark()
    times = clock.intervals_ms()
    row = _row(case, method, recipe, times, phases, syncs)
    row["final_loss"] = None if loss is None else float(loss.detach())
    row["peak_memory_gib"] = (
        torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None
    )
    if pruner is not None:
        pruner.finalize()
        row["block_sparsity"] = pruner.report().block_sparsity
    del model, optimizer, pruner, inputs, target, output, loss
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return row


def _row(case, method, recipe, times, phases, syncs) -> dict:
    timed, timed_phases = times[case.warmup :], phases[case.warmup :]
    by_phase = defaultdict(list)
    for kind, ms in zip(timed_phases, timed, strict=True):
        by_phase[kind].append(ms)
    step_ms = statistics.fmean(timed) if timed else None
    census_steps = max(0, min(len(times), case.warmup) - 1)
    elsewhere = syncs.total("elsewhere")
    return {
        "method": method,
        "timeline": "-" if method == "dense" else recipe.prune["timeline"],
        "steps_run": len(times),
        "steps_timed": len(timed),
        "step_ms": step_ms,
        "samples_per_s": None if step_ms is None else 1e3 * case.batch / step_ms,
        "phase_ms": {kind: statistics.fmean(v) for kind, v in by_phase.items()},
        "syncs_in_pruner_step": None
        if method == "dense"
        else syncs.total("pruner.step"),
        "syncs_elsewhere_per_step": (
            None if elsewhere is None or not census_steps else elsewhere / census_steps
        ),
        "block_sparsity": None,
    }


def training_stage(case, device: torch.device, budget) -> dict:
    """Train ``case`` dense and with every pruner; the stage's record.

    Parameters
    ----------
    case : TrainingCase
    device : torch.device
    budget : Budget
        Checked before every step; methods not reached are listed as skipped.

    Returns
    -------
    dict
        The settings, ``precision`` and one row per method with its ``ratio``
        to dense (None where either was not timed).
    """
    name, autocast = precision(device)
    rows = []
    for method in METHOD_ORDER:
        if budget.expired():
            rows.append({"method": method, "status": "skipped: stage budget spent"})
            continue
        row = _train(case, method, device, budget, autocast)
        complete = row["steps_run"] == case.steps
        row["status"] = "ok" if complete else f"stopped after {row['steps_run']} steps"
        rows.append(row)
    dense = rows[0].get("step_ms")
    for row in rows:
        ms = row.get("step_ms")
        row["ratio"] = None if ms is None or not dense else ms / dense
    return {
        "model": case.name,
        "recipe": case.recipe,
        "overrides": dict(case.assignments),
        "batch": case.batch,
        "steps": case.steps,
        "warmup": case.warmup,
        "precision": name,
        "channels_last": case.channels_last,
        "unit": case.unit,
        "rows": rows,
    }
