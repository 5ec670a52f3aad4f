"""Training recipes: TOML files naming a model, data, a TrainConfig and a pruner.

One file per (experiment, method) reproduces a setup of arXiv:2402.17902, Section 4
(``imagenet_sapp``, ``criteo_acdc``, ...); :func:`recipe_names` lists them. How a
recipe ``R`` is resolved (:func:`load_recipe`):

1. ``R`` is a built-in name or a path to a ``.toml`` file, either optionally
   followed by ``:quick``;
2. ``extends = "criteo"`` names the file read first: a built-in base
   (``_criteo.toml``), a built-in recipe, or a path ending in ``.toml`` (relative
   to the file). The file is deep-merged over it: tables merge key by key, any
   other value (arrays included) replaces the base's. Chains are followed and
   cycles refused;
3. with ``:quick`` the ``[quick]`` table is deep-merged over the rest (a small
   model on synthetic data, a few hundred steps);
4. overrides (``train.lr = 0.1``; the CLI's ``--set`` and flags) are set in order;
5. every table is checked (``neural.recipes.schema``), then the model against
   the data and the loss, and the pruner's layer selection is resolved on the
   model built on the ``meta`` device (no memory, no data needed).

In ``[train]``, ``total_steps`` and ``epochs`` are one choice: setting either (by
a merge or an override) removes the other. A ``[data]`` table of another
``kind`` (a ``[model]`` table of another ``name``) replaces the base's table
instead of merging into it, since its keys belong to that kind. Every error
names the dotted key (``train.lr``) and the accepted range or choices, and is
raised before anything is written.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..pruning.layers import check_global_scope, discover_layers
from ..train import TrainConfig
from . import _toml
from .schema import (
    DATA_KINDS,
    LOSS_OF_KIND,
    MNIST1D_CLASSES,
    MNIST1D_LENGTH,
    MODELS,
    PRUNE_FIELDS,
    check_data,
    check_model,
    check_prune,
    check_train,
    renamed,
    unknown_key,
)

__all__ = [
    "QUICK",
    "RECIPES_DIR",
    "TABLES",
    "Recipe",
    "load_recipe",
    "merge",
    "parse_assignment",
    "recipe_from_dict",
    "recipe_names",
    "set_key",
]

RECIPES_DIR = Path(__file__).resolve().parent
"""Folder of the built-in recipes (``<name>.toml``) and bases (``_<base>.toml``)."""
TABLES = ("model", "data", "train", "prune")
QUICK = ":quick"
"""Suffix of a recipe name that selects its quick variant."""
_RECIPE_KEYS = ("name", "description", *TABLES)
_FILE_KEYS = (*_RECIPE_KEYS, "extends", "quick")
_EXCLUSIVE = {"total_steps": "epochs", "epochs": "total_steps"}  # in [train]
_DISCRIMINATOR = {"data": "kind", "model": "name"}
_REAL_KIND = {"synthetic_imagenet": "imagenet", "synthetic_criteo": "criteo"}


def recipe_names() -> list[str]:
    """Names of the built-in recipes, sorted.

    Examples
    --------
    >>> [name for name in recipe_names() if name.startswith("criteo")]
    ['criteo_acdc', 'criteo_magnitude', 'criteo_powerprop', 'criteo_sapp']
    """
    return sorted(
        p.stem for p in RECIPES_DIR.glob("*.toml") if not p.name.startswith("_")
    )


def merge(base: dict, override: dict, _table: str | None = None) -> dict:
    """Deep merge: tables merge key by key, other values of ``override`` replace.

    Two exceptions, since the keys belong to one choice: setting ``total_steps``
    or ``epochs`` of ``[train]`` removes the other, and a ``[data]`` table with
    another ``kind`` (a ``[model]`` table with another ``name``) replaces the
    base's table whole.

    Examples
    --------
    >>> merge({"train": {"epochs": 9, "lr": 0.1}}, {"train": {"total_steps": 5}})
    {'train': {'lr': 0.1, 'total_steps': 5}}
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if _table is None and _switches(merged.get(key), value, key):
            merged[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value, key)
        else:
            merged[key] = copy.deepcopy(value)
        if _table == "train" and key in _EXCLUSIVE and _EXCLUSIVE[key] not in override:
            merged.pop(_EXCLUSIVE[key], None)
    return merged


def _switches(base, override, table) -> bool:
    """Whether ``override`` changes the ``[data]`` kind or the ``[model]`` name."""
    field = _DISCRIMINATOR.get(table)
    return (
        field is not None
        and isinstance(base, dict)
        and isinstance(override, dict)
        and field in override
        and override[field] != base.get(field)
    )


def set_key(raw: dict, key: str, value) -> None:
    """Set the dotted ``key`` (``"train.lr"``) of a raw recipe dict in place.

    Raises
    ------
    ValueError
        If ``key`` does not start with a table name.
    """
    parts = key.split(".")
    if len(parts) < 2 or parts[0] not in TABLES:
        raise ValueError(
            f"override key {key!r} must be TABLE.KEY with TABLE among {TABLES}, "
            "e.g. train.lr."
        )
    override = value
    for part in reversed(parts):
        override = {part: override}
    raw.update(merge(raw, override))


def parse_assignment(text: str) -> tuple[str, object]:
    """``"train.lr=0.1"`` -> ``("train.lr", 0.1)``; the value is read as TOML.

    A value that is not a TOML value (a bare word such as ``acdc_criteo``) is
    taken as a string.

    Raises
    ------
    ValueError
        If ``text`` is not ``KEY=VALUE`` with a dotted ``KEY``.

    Examples
    --------
    >>> parse_assignment("train.lr=0.1"), parse_assignment("prune.timeline=gradual")
    (('train.lr', 0.1), ('prune.timeline', 'gradual'))
    >>> parse_assignment("train.betas=[0.9, 0.99]")
    ('train.betas', [0.9, 0.99])
    """
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not value or not all(p.isidentifier() for p in key.split(".")):
        raise ValueError(
            f"an override must be KEY=VALUE with a dotted KEY, e.g. train.lr=0.1; "
            f"got {text!r}."
        )
    try:
        return key, tomllib.loads(f"value = {value}")["value"]
    except tomllib.TOMLDecodeError:
        return key, value


@dataclass(frozen=True)
class Recipe:
    """A resolved, validated recipe: four tables with every default filled in.

    Build one with :func:`load_recipe` (or ``recipe_from_dict``); the tables
    are described in ``neural.recipes.schema``.

    Attributes
    ----------
    name : str
        ``criteo_sapp``, ``criteo_sapp:quick`` or a file's name.
    model, data, train, prune : dict
        The checked tables.
    description : str
    """

    name: str
    model: dict
    data: dict
    train: dict
    prune: dict
    description: str = ""

    @property
    def method(self) -> str:
        """The pruning method."""
        return self.prune["method"]

    def to_dict(self) -> dict:
        """Plain copy: ``name``, ``description`` and the four tables."""
        return copy.deepcopy(
            {"name": self.name, "description": self.description}
            | {table: getattr(self, table) for table in TABLES}
        )

    def to_toml(self) -> str:
        """The recipe as TOML text; :func:`load_recipe` reads it back unchanged."""
        header = (
            f"Resolved recipe {self.name!r}: every default spelled out.\n"
            "sapp eval and sapp export rebuild the model from it; "
            "`sapp train --recipe THIS_FILE` repeats the run."
        )
        return _toml.dumps(self.to_dict(), header)

    def updated(self, assignments) -> Recipe:
        """A new recipe with dotted ``{key: value}`` overrides set, re-validated."""
        raw = self.to_dict()
        for key, value in dict(assignments).items():
            set_key(raw, key, value)
        return recipe_from_dict(raw)

    def with_data(self, path) -> Recipe:
        """The recipe reading the dataset at ``path`` (the CLI's ``--data``).

        Synthetic kinds become the real kind they stand for (``synthetic_criteo``
        -> ``criteo``), keeping the keys both share (image sizes).

        Raises
        ------
        ValueError
            For ``mnist1d``, which is generated in memory.
        """
        kind = self.data["kind"]
        if kind == "mnist1d":
            raise ValueError(
                "`data.path` does not apply to data.kind 'mnist1d' (generated in "
                "memory); drop --data."
            )
        kind = _REAL_KIND.get(kind, kind)
        data = {k: v for k, v in self.data.items() if k in DATA_KINDS[kind]}
        raw = self.to_dict()
        raw["data"] = {**data, "kind": kind, "path": str(Path(path).absolute())}
        return recipe_from_dict(raw)

    def train_config(self, run_dir=None, resume: bool = False) -> TrainConfig:
        """``[train]`` as a :class:`~neural.train.TrainConfig`, with the run options."""
        run_dir = None if run_dir is None else str(run_dir)
        return TrainConfig.from_dict(
            {**self.train, "run_dir": run_dir, "resume": resume}
        )

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.model['name']} on {self.data['kind']}, "
            f"{self.method} block {_block_text(self.prune['block'])} sparsity "
            f"{self.prune['sparsity']:g}"
        )


def _block_text(block) -> str:
    return f"{block[0]}x{block[1]}" if isinstance(block, list) else str(block)


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(
            f"recipe file {str(path)!r} is not valid TOML: {error}."
        ) from None


def _extends_path(value, here: Path) -> Path:
    if not isinstance(value, str):
        raise TypeError(f"`extends` in {str(here)!r} must be a string; got {value!r}.")
    if value.endswith(".toml"):
        path = here.parent / value
        if not path.is_file():
            raise FileNotFoundError(
                f"`extends` in {str(here)!r} names {value!r}, which does not exist."
            )
        return path
    for path in (RECIPES_DIR / f"_{value}.toml", RECIPES_DIR / f"{value}.toml"):
        if path.is_file():
            return path
    bases = sorted(p.stem[1:] for p in RECIPES_DIR.glob("_*.toml"))
    raise ValueError(
        f"`extends` in {str(here)!r} must be a built-in base {bases}, a built-in "
        f"recipe or a path ending in .toml; got {value!r}."
    )


def _read_file(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """A recipe file with its ``extends`` chain merged in."""
    path = path.resolve()
    if path in chain:
        raise ValueError(
            f"`extends` makes a cycle: {' -> '.join(str(p) for p in (*chain, path))}."
        )
    raw = _read_toml(path)
    for key in raw:
        if key not in _FILE_KEYS:
            raise unknown_key(key, _FILE_KEYS)
    if "extends" not in raw:
        return raw
    parent = _read_file(_extends_path(raw.pop("extends"), path), (*chain, path))
    return merge(parent, raw)


def _locate(spec) -> tuple[Path, str, bool]:
    """``(file, name, quick)`` of a recipe name or path."""
    if not isinstance(spec, str | os.PathLike):
        raise TypeError(f"`recipe` must be a name or a path; got {spec!r}.")
    text = os.fspath(spec)
    quick = text.endswith(QUICK)
    base = text.removesuffix(QUICK)
    if base.endswith(".toml") or os.sep in base:
        path = Path(base)
        if not path.is_file():
            raise FileNotFoundError(f"recipe file {base!r} does not exist.")
        return path, path.stem, quick
    path = RECIPES_DIR / f"{base}.toml"
    if base.startswith("_") or not path.is_file():
        raise ValueError(
            f"`recipe` must be a built-in recipe {recipe_names()} (optionally "
            f"with ':quick') or a path to a .toml file; got {text!r}."
        )
    return path, base, quick


def _sibling(path: Path, name: str, method: str) -> Path:
    """The built-in recipe of the same experiment with another method."""
    experiment = name.rpartition("_")[0]
    sibling = RECIPES_DIR / f"{experiment}_{method}.toml"
    if not sibling.is_file():
        same = [n for n in recipe_names() if n.startswith(f"{experiment}_")]
        raise ValueError(
            f"`method` {method!r}: there is no built-in recipe "
            f"'{experiment}_{method}'; {experiment} has {same}. To swap the method "
            f"alone, use --set prune.method={method}."
        )
    return sibling


def load_recipe(spec, *, method: str | None = None, assignments=None) -> Recipe:
    """Resolve and validate a recipe (module docstring).

    Parameters
    ----------
    spec : str or path
        A built-in name (:func:`recipe_names`) or a ``.toml`` path, optionally
        with the suffix ``:quick``.
    method : str, optional
        For a built-in recipe, take the same experiment's recipe for this method
        (``criteo_sapp`` with ``method="acdc"`` is ``criteo_acdc``); for a file,
        set ``prune.method``.
    assignments : mapping of str to object, optional
        Dotted overrides, ``{"train.lr": 0.1}``, set after the quick variant.

    Returns
    -------
    Recipe

    Raises
    ------
    FileNotFoundError
        If a recipe file does not exist.
    ValueError, TypeError
        On an unknown name or key or a value out of range (naming it).

    Examples
    --------
    >>> recipe = load_recipe("criteo_sapp", assignments={"prune.sparsity": 0.95})
    >>> print(recipe)
    criteo_sapp: criteo_dnn on criteo, sapp block 10 sparsity 0.95
    >>> load_recipe("criteo_sapp:quick").data["kind"]
    'synthetic_criteo'
    """
    path, name, quick = _locate(spec)
    assignments = dict(assignments or {})
    if method is not None:
        if path.parent == RECIPES_DIR:
            path = _sibling(path, name, method)
            name = path.stem
        else:
            assignments = {"prune.method": method, **assignments}
    raw = _read_file(path)
    name = raw.pop("name", name)
    variant = raw.pop("quick", None)
    if variant is not None:
        if not isinstance(variant, dict):
            raise TypeError(f"`quick` must be a table; got {variant!r}.")
        for key, table in variant.items():
            if key not in TABLES:
                raise unknown_key(f"quick.{key}", TABLES)
            if not isinstance(table, dict):
                raise TypeError(f"`quick.{key}` must be a table; got {table!r}.")
    if quick:
        if variant is None:
            raise ValueError(f"recipe {name!r} has no [quick] table; drop ':quick'.")
        raw = merge(raw, variant)
        name += QUICK
    for key, value in assignments.items():
        set_key(raw, key, value)
    return recipe_from_dict(raw, name)


def recipe_from_dict(raw: dict, name: str | None = None) -> Recipe:
    """Validate a resolved recipe dict (no ``extends``, no ``[quick]``).

    Parameters
    ----------
    raw : dict
        Top-level ``name``, ``description`` and the tables ``model``, ``data``,
        ``train`` and ``prune``.
    name : str, optional
        Used when ``raw`` has no ``name``.

    Returns
    -------
    Recipe

    Raises
    ------
    ValueError, TypeError
        Prefixed with the recipe's name, naming the dotted key.
    """
    if not isinstance(raw, dict):
        raise TypeError(f"a recipe must be a dict of tables; got {type(raw)}.")
    name = raw.get("name", name) or "recipe"
    try:
        for key in raw:
            if key not in _RECIPE_KEYS:
                raise unknown_key(key, _RECIPE_KEYS)
        for table in TABLES:
            if table not in raw:
                raise ValueError(f"the [{table}] table is required; it is missing.")
        description = raw.get("description", "")
        if not isinstance(description, str):
            raise TypeError(f"`description` must be a string; got {description!r}.")
        recipe = Recipe(
            name=str(name),
            model=check_model(raw["model"]),
            data=check_data(raw["data"]),
            train=check_train(raw["train"]),
            prune=check_prune(raw["prune"]),
            description=description,
        )
        _check_consistency(recipe)
        _check_layers(recipe)
    except (TypeError, ValueError) as error:
        raise type(error)(f"recipe {name!r}: {error}") from None
    return recipe


def _check_consistency(recipe: Recipe) -> None:
    model, data, kind = recipe.model, recipe.data, recipe.data["kind"]
    kinds = MODELS[model["name"]].data_kinds
    if kind not in kinds:
        raise ValueError(
            f"`data.kind` must be one of {kinds} for model {model['name']!r}; "
            f"got {kind!r}."
        )
    if recipe.train["loss"] != LOSS_OF_KIND[kind]:
        raise ValueError(
            f"`train.loss` must be {LOSS_OF_KIND[kind]!r} for data.kind {kind!r}; "
            f"got {recipe.train['loss']!r}."
        )
    if kind == "synthetic_imagenet" and model["num_classes"] != data["n_classes"]:
        raise ValueError(
            f"`model.num_classes` must equal data.n_classes={data['n_classes']}; "
            f"got {model['num_classes']}."
        )
    if kind == "synthetic_criteo" and _buckets(model) != _buckets(data):
        raise ValueError(
            "`model.buckets` must equal data.buckets (the cache's hash buckets), "
            f"{data['buckets']!r}; got {model['buckets']!r}."
        )
    if kind == "mnist1d":
        sizes = model["sizes"]
        if sizes[0] != MNIST1D_LENGTH or sizes[-1] != MNIST1D_CLASSES:
            raise ValueError(
                f"`model.sizes` must start with {MNIST1D_LENGTH} (the MNIST-1D "
                f"length) and end with {MNIST1D_CLASSES} (its classes); got {sizes}."
            )


def _buckets(table) -> tuple[int, ...]:
    value = table["buckets"]
    return tuple(value) if isinstance(value, list) else (value,) * 26


def _check_layers(recipe: Recipe) -> None:
    """Resolve the pruned layers on the model built on the meta device."""
    prune = recipe.prune
    model = MODELS[recipe.model["name"]].build(recipe.model, device="meta")
    try:
        specs, skipped = discover_layers(
            model,
            block=prune["block"],
            sparsity=prune["sparsity"],
            min_blocks=prune["min_blocks"],
            ignore=prune["ignore"],
            layers=prune.get("layers"),
        )
        if prune["scope"] == "global":
            check_global_scope(specs, prune["sparsity"])
    except (TypeError, ValueError) as error:
        raise renamed(error, "prune", PRUNE_FIELDS) from None
    if not specs:
        reasons = sorted({s.reason for s in skipped})[:3]
        raise ValueError(
            f"`prune` selects no layer of model {recipe.model['name']!r} "
            f"(block {_block_text(prune['block'])}, min_blocks "
            f"{prune['min_blocks']}: {reasons}); lower `prune.block` or "
            "`prune.min_blocks`, or name layers in `prune.layers`."
        )
