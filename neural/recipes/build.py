"""From a recipe to the objects a run needs: model, data, pruner factory, inputs.

* :func:`build_model`: ``[model]`` through :data:`~neural.recipes.schema.MODELS`.
* :func:`build_dataset`: one split of ``[data]``: ImageNet as ImageFolder trees
  (``train_transform`` / ``eval_transform`` at ``image_size``), Criteo caches
  (:class:`~neural.data.criteo.CriteoDataset`), MNIST-1D generated in memory.
  Synthetic kinds read a folder that :func:`ensure_synthetic_data` writes once
  (deterministically, with a ``synthetic.json`` record of its settings).
* :func:`pruner_factory`: ``(model, optimizer, total_steps) -> neural.prune(...)``
  with ``[prune]``'s options, for :class:`~neural.train.Trainer`.
* :func:`pruned_layers`: the ``{layer: block}`` the pruner prunes (export uses it).
* :func:`example_inputs`: a random batch of the model's input shape.
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path

import torch

from ..data.criteo import CriteoDataset, convert_criteo_tsv
from ..data.criteo_synthetic import generate_criteo_tsv, make_criteo_teacher
from ..data.imagefolder import ImageFolder
from ..data.mnist1d import mnist1d_datasets
from ..data.synthetic_images import generate_image_folder
from ..data.transforms import eval_transform, train_transform
from ..pruning import prune
from ..pruning.layers import discover_layers
from ..schedules import PRESETS
from .schema import MODELS

__all__ = [
    "SPLITS",
    "SYNTHETIC_RECORD",
    "build_dataset",
    "build_model",
    "check_data_root",
    "data_root",
    "ensure_synthetic_data",
    "example_inputs",
    "n_train_samples",
    "pruned_layers",
    "pruner_factory",
    "pruner_options",
]

SPLITS = ("train", "val")
SYNTHETIC_RECORD = "synthetic.json"
"""File of a synthetic data folder recording the ``[data]`` table that made it."""
_WAIT_S = 1800.0  # how long another rank waits for rank 0's synthetic data


def build_model(recipe, *, device=None) -> torch.nn.Module:
    """The model of ``recipe.model``, freshly initialized (seed torch first).

    Examples
    --------
    >>> from neural.recipes import load_recipe
    >>> build_model(load_recipe("criteo_sapp:quick")).tower.layers[0]
    Linear(in_features=390, out_features=400, bias=True)
    """
    return MODELS[recipe.model["name"]].build(recipe.model, device=device)


def data_root(recipe, run_dir=None) -> Path | None:
    """Folder of the recipe's data, or ``None`` (MNIST-1D, or no path given).

    ``data.path`` when given, else ``<run_dir>/data`` for synthetic kinds.
    """
    data = recipe.data
    if "path" in data:
        return Path(data["path"])
    if data["kind"].startswith("synthetic_") and run_dir is not None:
        return Path(run_dir) / "data"
    return None


def _record(recipe) -> dict:
    return {k: v for k, v in recipe.data.items() if k != "path"}


def check_data_root(recipe, root) -> None:
    """Check that the data exist at ``root`` (synthetic: if generated, as asked).

    Raises
    ------
    ValueError
        If a real kind has no ``data.path``, or a synthetic folder was made with
        other settings.
    FileNotFoundError
        If a real kind's folder or one of its splits is missing.
    """
    kind = recipe.data["kind"]
    if kind == "mnist1d":
        return
    if root is None:
        layout = "ImageFolder trees" if kind == "imagenet" else "Criteo caches"
        raise ValueError(
            f"`data.path` is required for data.kind {kind!r}: pass --data PATH, a "
            f"folder holding the {layout} train/ and val/."
        )
    root = Path(root)
    if kind.startswith("synthetic_"):
        record = root / SYNTHETIC_RECORD
        if record.is_file() and json.loads(record.read_text()) != _record(recipe):
            raise ValueError(
                f"`data.path` {str(root)!r} holds synthetic data made with other "
                f"settings ({record.read_text().strip()}); use another folder."
            )
        if root.exists() and not record.is_file():
            raise ValueError(
                f"`data.path` {str(root)!r} exists but holds no {SYNTHETIC_RECORD}; "
                "synthetic data need a new folder."
            )
        return
    if not root.is_dir():
        raise FileNotFoundError(f"`data.path` {str(root)!r} is not a folder.")
    for split in SPLITS:
        folder = root / recipe.data[split]
        if not folder.is_dir():
            raise FileNotFoundError(
                f"`data.{split}`: {str(folder)!r} is not a folder (the {split} "
                f"split of data.path {str(root)!r})."
            )


def ensure_synthetic_data(recipe, root) -> bool:
    """Generate the synthetic data into ``root`` unless they are there; True if made.

    Written atomically (the folder appears complete or not at all). Under
    ``torchrun`` only rank 0 writes; the other ranks wait for the folder.
    """
    kind = recipe.data["kind"]
    if not kind.startswith("synthetic_"):
        return False
    root = Path(root)
    check_data_root(recipe, root)
    if root.exists():
        return False
    if os.environ.get("RANK", "0") != "0":
        deadline = time.monotonic() + _WAIT_S
        while not root.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"rank 0 did not write {str(root)!r} in time.")
            time.sleep(1.0)
        return False
    from ..atomic import atomic_directory

    data = recipe.data
    with atomic_directory(root) as tmp:
        if kind == "synthetic_imagenet":
            for split, count, offset in (
                ("train", data["train_per_class"], 0),
                ("val", data["val_per_class"], 1),
            ):
                generate_image_folder(
                    tmp / split,
                    n_classes=data["n_classes"],
                    images_per_class=count,
                    size=tuple(data["source_size"]),
                    seed=data["seed"] * 2 + offset,
                )
        else:
            teacher = make_criteo_teacher(
                data["seed"], missing_rate=data["missing_rate"]
            )
            for split, rows, offset in (
                ("train", data["n_train"], 0),
                ("val", data["n_val"], 1),
            ):
                tsv = tmp / f"{split}.tsv"
                generate_criteo_tsv(
                    tsv,
                    rows,
                    seed=data["seed"] * 2 + offset,
                    missing_rate=data["missing_rate"],
                    teacher=teacher,
                )
                convert_criteo_tsv(
                    tsv, tmp / split, buckets=data["buckets"], progress=False
                )
                tsv.unlink()
        (tmp / SYNTHETIC_RECORD).write_text(json.dumps(_record(recipe)) + "\n")
    return True


def n_train_samples(recipe) -> int | None:
    """Training samples known from the recipe alone (synthetic kinds, MNIST-1D)."""
    data = recipe.data
    kind = data["kind"]
    if kind == "synthetic_imagenet":
        return data["n_classes"] * data["train_per_class"]
    if kind == "synthetic_criteo":
        return data["n_train"]
    if kind == "mnist1d":
        return int(data["n_samples"] * data["train_split"])
    return None


@functools.lru_cache(maxsize=2)
def _mnist1d(n_samples, train_split, seed):
    """Both splits, generated once per process (1-2 s for 5000 samples)."""
    return mnist1d_datasets(n_samples, train_split=train_split, seed=seed)


def build_dataset(recipe, split: str, root=None):
    """One split (``"train"`` or ``"val"``) of the recipe's data.

    Parameters
    ----------
    recipe : Recipe
    split : {"train", "val"}
    root : path, optional
        The data folder (:func:`data_root`); not used by MNIST-1D.

    Returns
    -------
    torch.utils.data.Dataset
        Yielding ``(inputs, target)``.

    Raises
    ------
    ValueError, FileNotFoundError
        If the data are missing or do not fit the model (class count, buckets).
    """
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}; got {split!r}.")
    data, kind = recipe.data, recipe.data["kind"]
    if kind == "mnist1d":
        train, test = _mnist1d(data["n_samples"], data["train_split"], data["seed"])
        return train if split == "train" else test
    check_data_root(recipe, root)
    folder = Path(root) / data.get(split, split)
    if kind in ("imagenet", "synthetic_imagenet"):
        transform = (
            train_transform(data["image_size"])
            if split == "train"
            else eval_transform(data["eval_resize"], data["image_size"])
        )
        dataset = ImageFolder(folder, transform)
        expected = recipe.model["num_classes"]
        if len(dataset.classes) != expected:
            raise ValueError(
                f"`model.num_classes` must equal the {len(dataset.classes)} class "
                f"folders of {str(folder)!r}; got {expected} (--set "
                f"model.num_classes={len(dataset.classes)})."
            )
        return dataset
    dataset = CriteoDataset(folder)
    buckets = recipe.model["buckets"]
    wanted = tuple(buckets) if isinstance(buckets, list) else (buckets,) * 26
    if dataset.buckets != wanted:
        raise ValueError(
            f"`model.buckets` must equal the hash buckets of the cache "
            f"{str(folder)!r}, {sorted(set(dataset.buckets))}; got {buckets!r}."
        )
    return dataset


def pruner_options(recipe, total_steps: int) -> dict:
    """Keyword arguments of :func:`neural.prune` from ``[prune]`` (no model yet)."""
    options = dict(recipe.prune)
    timeline_args = options.pop("timeline_args")
    if timeline_args:
        options["timeline"] = PRESETS[options["timeline"]](total_steps, **timeline_args)
    if options.get("attention_bounds") == "none":
        options["attention_bounds"] = None
    elif isinstance(options.get("attention_bounds"), list):
        options["attention_bounds"] = tuple(options["attention_bounds"])
    if isinstance(options["block"], list):
        options["block"] = tuple(options["block"])
    return options


def pruner_factory(recipe):
    """``(model, optimizer, total_steps) -> pruner``, as :class:`Trainer` takes it.

    Examples
    --------
    >>> from neural.recipes import load_recipe
    >>> recipe = load_recipe("mnist1d_sapp:quick")
    >>> model = build_model(recipe)
    >>> optimizer = torch.optim.Adam(model.parameters())
    >>> pruner = pruner_factory(recipe)(model, optimizer, 300)
    >>> [layer.name for layer in pruner.layers]
    ['layers.0', 'layers.2']
    """

    def factory(model, optimizer, total_steps):
        options = pruner_options(recipe, total_steps)
        method = options.pop("method")
        return prune(
            model, method, total_steps=total_steps, optimizer=optimizer, **options
        )

    return factory


def pruned_layers(recipe) -> dict[str, tuple[int, int]]:
    """``{layer name: (B_r, B_c)}`` of the layers the recipe's pruner prunes.

    Examples
    --------
    >>> from neural.recipes import load_recipe
    >>> pruned_layers(load_recipe("criteo_sapp"))
    {'tower.layers.0': (10, 10)}
    """
    model = build_model(recipe, device="meta")
    options = pruner_options(recipe, 1)
    specs, _ = discover_layers(
        model,
        block=options["block"],
        sparsity=options["sparsity"],
        min_blocks=options["min_blocks"],
        ignore=options["ignore"],
        layers=options.get("layers"),
    )
    return {spec.name: spec.grid.block_shape for spec in specs}


def example_inputs(recipe, batch_size: int = 8, *, seed: int = 0):
    """A random input batch of the recipe's model (tensor or tuple of tensors).

    Examples
    --------
    >>> from neural.recipes import load_recipe
    >>> dense, categorical = example_inputs(load_recipe("criteo_sapp:quick"), 4)
    >>> tuple(dense.shape), tuple(categorical.shape)
    ((4, 13), (4, 26))
    """
    generator = torch.Generator().manual_seed(seed)
    model = recipe.model
    if model["name"].startswith("resnet"):
        size = recipe.data["image_size"]
        return torch.randn(batch_size, 3, size, size, generator=generator)
    if model["name"] == "mlp":
        return torch.randn(batch_size, model["sizes"][0], generator=generator)
    buckets = model["buckets"]
    buckets = buckets if isinstance(buckets, list) else [buckets] * 26
    dense = torch.randn(batch_size, 13, generator=generator)
    categorical = torch.stack(
        [torch.randint(0, b, (batch_size,), generator=generator) for b in buckets], 1
    )
    return dense, categorical
