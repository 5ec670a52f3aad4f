"""What ``sapp bench gpu`` runs, in its two sizes: the GPU check and ``--tiny``.

The full size is issue 20's: ResNet-50 (width 64, 224 px, 1000 classes) at
batch 256 and the Criteo DNN (2**18 buckets per column) at batch 32768, each
for 60 steps of which the first 10 are warm-up; ``sapp train`` of
``imagenet_sapp:quick`` under ``torchrun``; the 2048 x 2048 Linear at 90% block
sparsity and ResNet-50's pruned layers exported. ``--tiny`` keeps every code
path at sizes a 2-core CPU runs in seconds. Each stage has a time budget and
the command a wall-clock guard (:mod:`benchmarks.gpu.stages`), set so that the
full check ends within 6 minutes.

Memory at the full size (estimates; the check records the peaks): ResNet-50's
activations at batch 256 under bf16 autocast take about 15-20 GiB (fp32 about
twice that), its weights, gradients and momentum 0.3 GiB; the Criteo DNN's 68M
embedding parameters with Adam's two moments and dense gradients take about
1.1 GiB and its activations at batch 32768 under 0.5 GiB. Both fit an 80 GiB
H100 (and a 139 GiB H200) several times over.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CheckSettings",
    "ExportCase",
    "ResumeCase",
    "TrainingCase",
    "settings_for",
]


@dataclass(frozen=True)
class TrainingCase:
    """One model trained dense and with every pruner, timed per step.

    Attributes
    ----------
    name : str
        ``"resnet50"`` or ``"criteo"``.
    recipe : str
        A built-in recipe; the pruners use its method siblings (same
        experiment, ``--method``), so each runs on its paper timeline.
    assignments : dict
        Recipe overrides (``--tiny``: smaller model and images).
    batch : int
        Samples per step; the learning rate is the recipe's scaled by
        ``batch / recipe batch`` (linear scaling).
    steps, warmup : int
        Steps per run (the timeline is compressed to ``steps``) and untimed
        first steps.
    channels_last : bool
        Model and inputs in the ``channels_last`` memory format.
    budget_s : float
        Seconds the stage may take.
    """

    name: str
    recipe: str
    assignments: dict
    batch: int
    steps: int
    warmup: int
    channels_last: bool
    budget_s: float

    @property
    def unit(self) -> str:
        """What a sample is, for throughput columns."""
        return "images" if self.name == "resnet50" else "samples"


@dataclass(frozen=True)
class ResumeCase:
    """``sapp train`` under ``torchrun``: uninterrupted, and killed then resumed.

    Attributes
    ----------
    recipe : str
        The recipe (``NAME:quick``).
    options : tuple of str
        ``--set KEY=VALUE`` assignments (device, determinism, sizes).
    steps : int or None
        ``--steps``; None keeps the recipe's.
    kill_step : int
        The killed run SIGKILLs itself after this step, between two checkpoints.
    checkpoint_step : int
        The checkpoint it must resume from (the last one before ``kill_step``).
    budget_s : float
    """

    recipe: str
    options: tuple[str, ...]
    steps: int | None
    kill_step: int
    checkpoint_step: int
    budget_s: float


@dataclass(frozen=True)
class ExportCase:
    """The block-sparse export timed against dense on the check's device.

    Attributes
    ----------
    linear_size : int
        ``n`` of the ``n x n`` Linear layer.
    sparsity : float
        Block sparsity of the Linear layer.
    blocks : tuple of int
        Square block sizes of the Linear layer in float32.
    bf16_blocks : tuple of int
        Block sizes also timed in bfloat16 (none on the CPU, whose block-sparse
        kernels take float32 and float64 only).
    batch : int
        Rows of the Linear layer's input.
    resnet_assignments : dict
        Overrides of the ``imagenet_magnitude`` recipe for the pruned ResNet-50.
    resnet_batch : int
        Images of the ResNet's timing batch.
    repeats : int
        Timed calls per measurement (median).
    budget_s : float
    """

    linear_size: int
    sparsity: float
    blocks: tuple[int, ...]
    bf16_blocks: tuple[int, ...]
    batch: int
    resnet_assignments: dict
    resnet_batch: int
    repeats: int
    budget_s: float


@dataclass(frozen=True)
class CheckSettings:
    """Every stage's size and budget, and the whole command's wall-clock guard."""

    tiny: bool
    training: tuple[TrainingCase, ...]
    resume: ResumeCase
    export: ExportCase
    wall_s: float


def _training(tiny: bool) -> tuple[TrainingCase, ...]:
    if not tiny:
        return (
            TrainingCase("resnet50", "imagenet_sapp", {}, 256, 60, 10, True, 110.0),
            TrainingCase("criteo", "criteo_sapp", {}, 32768, 60, 10, False, 60.0),
        )
    resnet = {
        "model.width": 4,
        "model.small_input": True,
        "model.num_classes": 10,
        "data.image_size": 16,
        "prune.block": 8,
    }
    return (
        TrainingCase("resnet50", "imagenet_sapp", resnet, 8, 8, 2, True, 120.0),
        TrainingCase(
            "criteo", "criteo_sapp", {"model.buckets": 1000}, 512, 8, 2, False, 60.0
        ),
    )


def _resume(tiny: bool, device_type: str) -> ResumeCase:
    common = (
        f'train.device="{device_type}"',
        "train.deterministic=true",
        "train.channels_last=true",
    )
    if not tiny:  # 300 steps, checkpoints at 100, 200, 300
        return ResumeCase("imagenet_sapp:quick", common, None, 150, 100, 120.0)
    small = (
        "model.width=4",
        "data.train_per_class=4",
        "data.val_per_class=2",
        "data.image_size=16",
        "data.eval_resize=18",
        "train.batch_size=8",
        "train.log_every=4",
        "train.eval_every=12",
        "train.checkpoint_every=4",
        "prune.block=8",
    )
    return ResumeCase("imagenet_sapp:quick", common + small, 12, 6, 4, 240.0)


def _export(tiny: bool) -> ExportCase:
    if not tiny:
        return ExportCase(2048, 0.9, (8, 16, 32), (16,), 256, {}, 16, 5, 45.0)
    resnet = {
        "model.width": 4,
        "model.small_input": True,
        "model.num_classes": 10,
        "data.image_size": 16,
        "prune.block": 8,
    }
    return ExportCase(256, 0.9, (16,), (), 64, resnet, 4, 3, 60.0)


def settings_for(tiny: bool, device_type: str) -> CheckSettings:
    """The check's settings: full size, or ``tiny`` (seconds on a CPU).

    Parameters
    ----------
    tiny : bool
    device_type : {"cuda", "cpu"}
        The device the ``sapp train`` runs are told to use.

    Returns
    -------
    CheckSettings
    """
    return CheckSettings(
        tiny=tiny,
        training=_training(tiny),
        resume=_resume(tiny, device_type),
        export=_export(tiny),
        wall_s=600.0 if tiny else 345.0,
    )
