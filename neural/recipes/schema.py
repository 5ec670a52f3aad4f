"""The four tables of a training recipe and their checks (arXiv:2402.17902).

* ``[model]``: ``name`` (:data:`MODELS`) and that constructor's arguments.
* ``[data]``: ``kind`` (:data:`DATA_KINDS`) and that kind's keys: where the data
  live and their sizes.
* ``[train]``: the fields of :class:`~neural.train.TrainConfig`, exactly; its own
  validation decides (``run_dir`` and ``resume`` come from the command line).
* ``[prune]``: the arguments of :func:`neural.prune`: ``method``, ``sparsity``,
  ``block``, ``timeline`` (a preset of :data:`neural.schedules.PRESETS`) with
  ``timeline_args``, ``min_blocks``, ``ignore``, ``layers``, ``scope``,
  ``reenter``, ``update_every`` and the method's own options (:data:`METHOD_OPTIONS`).

Each check returns the table with its defaults filled in (``None`` left out: TOML
has no null), so a stored recipe spells out everything a run used. An unknown
key or a bad value raises one ``ValueError``/``TypeError`` naming its dotted path
(``train.lr``) and the accepted range or choices.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch

from nonconvex_reg.validation import check_choice, check_int, check_scalar

from ..blocks import parse_block
from ..data.criteo import DEFAULT_BUCKETS, check_buckets
from ..models import MLP, resnet18, resnet50
from ..models.criteo import CriteoDNN
from ..pruning import METHODS
from ..schedules import PRESETS
from ..train import TrainConfig

__all__ = [
    "DATA_KINDS",
    "LOSS_OF_KIND",
    "METHOD_OPTIONS",
    "MODELS",
    "ModelSpec",
    "check_data",
    "check_model",
    "check_prune",
    "check_train",
    "renamed",
]

REQUIRED = object()
"""Default of a key that must be given."""
OPTIONAL = object()
"""Default of a key that may be absent (``None``)."""

MNIST1D_LENGTH = 40  # mnist1d's final_seq_length
MNIST1D_CLASSES = 10
RUN_OPTIONS = ("run_dir", "resume")
"""TrainConfig fields set by the command line, never by a recipe."""

_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]`]*\])*)`")


def renamed(error: Exception, prefix: str, names=None) -> Exception:
    """The same error with each backquoted ``name`` in its text as ``prefix.name``.

    Only names in ``names`` (all when ``None``) are rewritten.

    Examples
    --------
    >>> str(renamed(ValueError("`lr` must be in (0, inf); got -1."), "train"))
    '`train.lr` must be in (0, inf); got -1.'
    """

    def rewrite(match):
        if names is not None and match.group(1) not in names:
            return match.group(0)
        return f"`{prefix}.{match.group(1)}{match.group(2)}`"

    return type(error)(_NAME.sub(rewrite, str(error)))


def unknown_key(name: str, known) -> ValueError:
    """The error for an unknown dotted key, with the closest known ones."""
    table, _, key = name.rpartition(".")
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f" did you mean `{table}.{close[0]}`?" if close else ""
    where = f"[{table}]" if table else "a recipe"
    return ValueError(f"unknown key `{name}`;{hint} {where} accepts {sorted(known)}.")


# -- value checks: (value, dotted name) -> value ---------------------------------


def _int(low=None, high=None):
    return lambda value, name: check_int(value, name, low=low, high=high)


def _real(low=None, high=None, low_inclusive=True, high_inclusive=True):
    def check(value, name):
        return check_scalar(
            value,
            name,
            low=low,
            high=high,
            low_inclusive=low_inclusive,
            high_inclusive=high_inclusive,
        )

    return check


def _bool(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be true or false; got {value!r}.")
    return value


def _str(value, name):
    if not isinstance(value, str) or not value:
        raise TypeError(f"`{name}` must be a non-empty string; got {value!r}.")
    return value


def _choice(choices):
    return lambda value, name: check_choice(value, name, tuple(choices))


def _ints(low, min_length):
    def check(value, name):
        if not isinstance(value, list | tuple) or len(value) < min_length:
            raise TypeError(
                f"`{name}` must be a list of at least {min_length} integers; "
                f"got {value!r}."
            )
        return [check_int(v, f"{name}[{i}]", low=low) for i, v in enumerate(value)]

    return check


def _pair(low):
    def check(value, name):
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise TypeError(f"`{name}` must be a pair [a, b]; got {value!r}.")
        return _ints(low, 2)(value, name)

    return check


def _buckets(value, name):
    try:
        check_buckets(value)
    except (TypeError, ValueError) as error:
        raise type(error)(str(error).replace("`buckets`", f"`{name}`")) from None
    return list(value) if isinstance(value, list | tuple) else value


def _block(value, name):
    parse_block(value, name)
    return list(value) if isinstance(value, tuple) else value


def _sparsity(value, name):
    return check_scalar(value, name, low=0.0, high=1.0, high_inclusive=False)


def check_table(values, schema: dict, where: str) -> dict:
    """Check a table against ``{key: (check, default)}``; return it with defaults.

    Raises
    ------
    TypeError
        If ``values`` is not a table or a value has the wrong type.
    ValueError
        On an unknown key, a missing required key or a value out of range.
    """
    if not isinstance(values, dict):
        raise TypeError(f"`{where}` must be a table; got {values!r}.")
    for key in values:
        if key not in schema:
            raise unknown_key(f"{where}.{key}", schema)
    checked = {}
    for key, (check, default) in schema.items():
        name = f"{where}.{key}"
        if key in values:
            checked[key] = check(values[key], name)
        elif default is REQUIRED:
            raise ValueError(f"`{name}` is required; it is missing.")
        elif default is not OPTIONAL:
            checked[key] = copy.deepcopy(default)
    return checked


# -- [model] -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """A model a recipe can name: its constructor, arguments and data kinds."""

    builder: Callable
    args: dict
    data_kinds: tuple[str, ...]

    def build(self, table: dict, device=None):
        """The model of a checked ``[model]`` table, on ``device`` (e.g. ``"meta"``)."""
        args = {k: v for k, v in table.items() if k != "name"}
        if device is None:
            return self.builder(**args)
        with torch.device(device):
            return self.builder(**args)


_RESNET_ARGS = {
    "num_classes": (_int(1), 1000),
    "width": (_int(1), 64),
    "small_input": (_bool, False),
}
_IMAGES = ("imagenet", "synthetic_imagenet")

MODELS = {
    "resnet18": ModelSpec(resnet18, _RESNET_ARGS, _IMAGES),
    "resnet50": ModelSpec(resnet50, _RESNET_ARGS, _IMAGES),
    "criteo_dnn": ModelSpec(
        CriteoDNN,
        {
            "buckets": (_buckets, DEFAULT_BUCKETS),
            "embedding_dim": (_int(1), 10),
            "hidden": (_ints(1, 1), [400, 400, 400]),
        },
        ("criteo", "synthetic_criteo"),
    ),
    "mlp": ModelSpec(MLP, {"sizes": (_ints(1, 2), REQUIRED)}, ("mnist1d",)),
}
"""Model name -> :class:`ModelSpec` (``criteo_dnn`` is :class:`CriteoDNN`)."""


def check_model(values) -> dict:
    """Check ``[model]``: ``name`` among :data:`MODELS`, then its arguments."""
    if not isinstance(values, dict):
        raise TypeError(f"`model` must be a table; got {values!r}.")
    if "name" not in values:
        raise ValueError(f"`model.name` is required; one of {tuple(MODELS)}.")
    name = check_choice(values["name"], "model.name", tuple(MODELS))
    args = {k: v for k, v in values.items() if k != "name"}
    schema = {"name": None, **MODELS[name].args}
    for key in args:
        if key not in schema:
            raise unknown_key(f"model.{key}", schema)
    return {"name": name, **check_table(args, MODELS[name].args, "model")}


# -- [data] ------------------------------------------------------------------------

_IMAGE_SIZES = {
    "image_size": (_int(8), 224),
    "eval_resize": (_int(8), 256),
}
DATA_KINDS = {
    "imagenet": {
        "path": (_str, OPTIONAL),
        "train": (_str, "train"),
        "val": (_str, "val"),
        **_IMAGE_SIZES,
    },
    "synthetic_imagenet": {
        "path": (_str, OPTIONAL),
        "n_classes": (_int(1, 1000), 10),
        "train_per_class": (_int(1), 64),
        "val_per_class": (_int(1), 16),
        "source_size": (_pair(8), [48, 40]),
        "seed": (_int(0), 0),
        **_IMAGE_SIZES,
    },
    "criteo": {
        "path": (_str, OPTIONAL),
        "train": (_str, "train"),
        "val": (_str, "val"),
    },
    "synthetic_criteo": {
        "path": (_str, OPTIONAL),
        "n_train": (_int(1), 50_000),
        "n_val": (_int(1), 10_000),
        "buckets": (_buckets, 1000),
        "missing_rate": (_real(0.0, 1.0, high_inclusive=False), 0.05),
        "seed": (_int(0), 0),
    },
    "mnist1d": {
        "n_samples": (_int(10), 5000),
        "train_split": (_real(0.0, 1.0, False, False), 0.8),
        "seed": (_int(0, 2**32 - 1), 0),
    },
}
"""Data kind -> ``{key: (check, default)}``. ``path`` is where real data live
(``imagenet``: ImageFolder trees ``train/`` and ``val/``; ``criteo``: caches
``train/`` and ``val/`` of :func:`~neural.data.criteo.convert_criteo_tsv`) or
where synthetic data are generated (default: ``<run folder>/data``)."""

LOSS_OF_KIND = {
    "imagenet": "cross_entropy",
    "synthetic_imagenet": "cross_entropy",
    "mnist1d": "cross_entropy",
    "criteo": "bce_with_logits",
    "synthetic_criteo": "bce_with_logits",
}
"""The loss each data kind's labels need."""


def check_data(values) -> dict:
    """Check ``[data]``: ``kind`` among :data:`DATA_KINDS`, then that kind's keys."""
    if not isinstance(values, dict):
        raise TypeError(f"`data` must be a table; got {values!r}.")
    if "kind" not in values:
        raise ValueError(f"`data.kind` is required; one of {tuple(DATA_KINDS)}.")
    kind = check_choice(values["kind"], "data.kind", tuple(DATA_KINDS))
    schema = DATA_KINDS[kind]
    for key in values:
        if key != "kind" and key not in schema:
            raise unknown_key(f"data.{key}", {"kind": None, **schema})
    rest = {k: v for k, v in values.items() if k != "kind"}
    checked = {"kind": kind, **check_table(rest, schema, "data")}
    if "image_size" in checked and checked["eval_resize"] < checked["image_size"]:
        raise ValueError(
            f"`data.eval_resize` must be >= data.image_size={checked['image_size']} "
            f"(the central crop must fit); got {checked['eval_resize']}."
        )
    if kind == "mnist1d":
        n_samples, split = checked["n_samples"], checked["train_split"]
        if n_samples % 10:
            raise ValueError(
                f"`data.n_samples` must be a multiple of 10; got {n_samples}."
            )
        if not 1 <= int(n_samples * split) <= n_samples - 1:
            raise ValueError(
                f"`data.train_split` must leave both splits non-empty for "
                f"n_samples={n_samples}; got {split}."
            )
    return checked


# -- [train] -----------------------------------------------------------------------

TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name not in RUN_OPTIONS)


def check_train(values) -> dict:
    """Check ``[train]`` by building the :class:`~neural.train.TrainConfig`."""
    if not isinstance(values, dict):
        raise TypeError(f"`train` must be a table; got {values!r}.")
    for key in values:
        if key in RUN_OPTIONS:
            flag = key.replace("_", "-")
            raise ValueError(
                f"`train.{key}` is not a recipe option: pass --{flag} to sapp train."
            )
        if key not in TRAIN_FIELDS:
            raise unknown_key(f"train.{key}", TRAIN_FIELDS)
    try:
        config = TrainConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        raise renamed(error, "train", TRAIN_FIELDS) from None
    return {
        k: v
        for k, v in config.to_dict().items()
        if k not in RUN_OPTIONS and v is not None
    }


# -- [prune] -----------------------------------------------------------------------


def _patterns(value, name):
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, list | tuple) or not all(
        isinstance(p, str) for p in patterns
    ):
        raise TypeError(
            f"`{name}` must be a regular expression or a list of them; got {value!r}."
        )
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(
                f"`{name}` holds {pattern!r}, not a regular expression: {error}."
            ) from None
    return list(patterns)


def _layers(value, name):
    if not isinstance(value, list | tuple) or not value:
        raise TypeError(
            f"`{name}` must be a non-empty list of layer names or tables "
            f"{{tensor_fqn = ..., sparsity = ..., block = ...}}; got {value!r}."
        )
    for i, entry in enumerate(value):
        if not isinstance(entry, str | dict):
            raise TypeError(
                f"`{name}[{i}]` must be a layer name or a table; got {entry!r}."
            )
    return list(value)


def _bounds(value, name):
    if value in ("density", "none"):
        return value
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise TypeError(
            f"`{name}` must be 'density', 'none' or a pair [low, high]; got {value!r}."
        )
    low = check_scalar(value[0], f"{name}[0]", low=0.0, high=1.0)
    high = check_scalar(value[1], f"{name}[1]", low=1.0)
    return [low, high]


def _table(value, name):
    if not isinstance(value, dict):
        raise TypeError(f"`{name}` must be a table; got {value!r}.")
    return dict(value)


PRUNE_FIELDS = {
    "method": (_choice(METHODS), REQUIRED),
    "sparsity": (_sparsity, REQUIRED),
    "block": (_block, REQUIRED),
    "timeline": (_choice(PRESETS), OPTIONAL),
    "timeline_args": (_table, {}),
    "min_blocks": (_int(1), 100),
    "ignore": (_patterns, []),
    "layers": (_layers, OPTIONAL),
    "scope": (_choice(("layer", "global")), "layer"),
    "reenter": (_choice(("zero", "keep")), OPTIONAL),
    "update_every": (_int(1), 1),
}
"""``[prune]`` keys shared by every method, as :func:`neural.prune` takes them
(``timeline`` and ``reenter`` default to the method's own)."""

METHOD_OPTIONS = {
    "powerprop": {"alpha": (_real(1.0), 2.0)},
    "sapp": {
        "attention_bounds": (_bounds, "density"),
        "logit_lr": (_real(0.0), OPTIONAL),
        "logit_lr_multiplier": (_real(0.0, None, False), OPTIONAL),
        "logit_weight_decay": (_real(0.0), OPTIONAL),
    },
}
"""Method -> its own ``[prune]`` keys (``attention_bounds = "none"``: no clipping;
``logit_lr`` and ``logit_lr_multiplier`` exclusive; the logits' options absent:
the optimizer's)."""


def _check_timeline_args(name, args):
    preset = PRESETS[name]
    accepted = [p for p in inspect.signature(preset).parameters if p != "total_steps"]
    for key in args:
        if key not in accepted:
            raise ValueError(
                f"`prune.timeline_args.{key}` is not an argument of timeline "
                f"{name!r}; it accepts {accepted}."
            )
    try:
        preset(1000, **args)
    except (TypeError, ValueError) as error:
        raise renamed(error, "prune.timeline_args", accepted) from None


def check_prune(values) -> dict:
    """Check ``[prune]`` (layer selection is checked on the model by the recipe)."""
    if not isinstance(values, dict):
        raise TypeError(f"`prune` must be a table; got {values!r}.")
    if "method" not in values:
        raise ValueError(f"`prune.method` is required; one of {tuple(METHODS)}.")
    method = check_choice(values["method"], "prune.method", tuple(METHODS))
    schema = {**PRUNE_FIELDS, **METHOD_OPTIONS.get(method, {})}
    for key in values:
        owners = [m for m, options in METHOD_OPTIONS.items() if key in options]
        if key not in schema and owners:
            raise ValueError(
                f"`prune.{key}` applies to method {owners[0]!r} only; got "
                f"method {method!r}."
            )
    checked = check_table(values, schema, "prune")
    if "logit_lr" in checked and "logit_lr_multiplier" in checked:
        raise ValueError(
            "`prune.logit_lr` and `prune.logit_lr_multiplier` are exclusive; got "
            f"{checked['logit_lr']!r} and {checked['logit_lr_multiplier']!r}."
        )
    checked.setdefault("timeline", METHODS[method].default_timeline)
    checked.setdefault("reenter", METHODS[method].default_reenter)
    _check_timeline_args(checked["timeline"], checked["timeline_args"])
    return checked
