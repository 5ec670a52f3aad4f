"""Report of ``sapp bench tune``: paper defaults and tuned side by side.

From a :func:`~benchmarks.tune.runs.tune_benchmark` record: per task and cell,
each method's test metric (mean ± std over seeds) with its recipe's defaults and
with the configuration the protocol chose, the SA++ verdict against the best
other method under both (the pruning benchmark's rule,
:func:`benchmarks.pruning.report.compare_means`), the chosen configurations and
every validation score.
"""

from __future__ import annotations

from ..pruning import report as pruning_report
from ..pruning.runs import DENSE
from ..results import markdown_table, write_results
from .spaces import space_rows

__all__ = ["final_cells", "tune_markdown", "tuned_verdicts", "write_tune_results"]

_KEYS = ("task", "method", "block", "sparsity", "config")
_CHANGE = {"wins": "better", "ties": "same", "loses": "worse"}
_TEST_SPLIT = {
    "criteo": "the test split is the 10 000 fresh rows that sapp bench pruning "
    "validates on",
    "mnist1d": "the test split is MNIST-1D's 1000 test samples",
}


def final_cells(record: dict) -> dict:
    """``{(task, method, block, sparsity): {"default": cell, "tuned": cell}}``.

    Each cell summarizes the test runs (mean and std over seeds) of config 0
    and of the chosen config (the same cell when the default was chosen).
    """
    final = {"rows": [r for r in record["rows"] if r["stage"] == "final"]}
    cells = {
        tuple(c[k] for k in _KEYS): c for c in pruning_report.summarize(final, _KEYS)
    }
    out = {}
    for entry in record["configs"]:
        key = (entry["task"], entry["method"], entry["block"], entry["sparsity"])
        out[key] = {
            "default": cells[(*key, 0)],
            "tuned": cells[(*key, entry["chosen"])],
        }
    return out


def _lookup(results, task, method, block, sparsity):
    if method == DENSE:
        block = sparsity = None
    return results.get((task, method, block, sparsity))


def tuned_verdicts(record: dict) -> list[dict]:
    """SA++ against the best other method, with defaults and tuned, per cell."""
    results = final_cells(record)
    out = []
    for grid in record["grids"]:
        task = grid["task"]
        metric, larger_better = pruning_report.PRIMARY_METRIC[task]
        for block in grid["blocks"]:
            for sparsity in grid["sparsities"]:
                sapp = _lookup(results, task, "sapp", block, sparsity)
                others = [
                    (m, found)
                    for m in record["methods"]
                    if m not in ("sapp", DENSE)
                    if (found := _lookup(results, task, m, block, sparsity))
                ]
                if sapp is None or not others:
                    continue
                sign = 1.0 if larger_better else -1.0
                for setting in ("default", "tuned"):
                    name, best = max(
                        others, key=lambda o: sign * o[1][setting][f"{metric}_mean"]
                    )
                    lead, noise, verdict = pruning_report.compare_means(
                        sapp[setting], best[setting], metric, larger_better
                    )
                    out.append(
                        {
                            "task": task,
                            "block": block,
                            "sparsity": sparsity,
                            "setting": setting,
                            "runner_up": name,
                            "lead": lead,
                            "noise": noise,
                            "verdict": verdict,
                        }
                    )
    return out


def _fmt(cell, metric) -> str:
    return f"{cell[f'{metric}_mean']:.4f} ± {cell[f'{metric}_std']:.4f}"


def _config_text(config: dict) -> str:
    if not config:
        return "recipe default"
    return ", ".join(
        f"{key.split('.')[-1]}={value:g}"
        if isinstance(value, float)
        else f"{key.split('.')[-1]}={value}"
        for key, value in config.items()
    )


def _protocol(record: dict) -> list[str]:
    common, rows = space_rows(record["recipe_lr"])
    seeds = record["grids"][0]["seeds"]
    return [
        "## Protocol",
        "",
        f"Every method gets the same budget of {record['budget']} configurations: "
        "config 0 is the recipe's default, the others are drawn by seeded random "
        "search (Bergstra & Bengio 2012) from the method's space below. Each "
        f"configuration trains once (seed {seeds[0]}) on the training split minus "
        f"a held-out {record['val_fraction']:.0%} (a fixed permutation) and is "
        "scored on that held-out part by the primary metric (Criteo: log-loss; "
        "MNIST-1D: accuracy); the best wins, ties to the lower index. The default "
        f"and the winner are then retrained on the whole training split over seeds "
        f"{seeds} and evaluated once on the test split, which selection never "
        "reads. Dense is tuned once per task. See `benchmarks/tune/runs.py`.",
        "",
        f"Common to every method: {common}.",
        "",
        *markdown_table(["method", "its own knobs"], rows),
        "",
    ]


def tune_markdown(record: dict) -> str:
    """Defaults vs tuned per task and cell, verdicts, choices, validation scores."""
    results = final_cells(record)
    lines = [
        "# Equal-budget tuning: paper defaults and tuned (issue 15)",
        "",
        f"Command: `{record['command']}`; machine: {record['machine']}; "
        f"{record['jobs']} worker processes, 1 torch thread each; versions: "
        f"{record['versions']}.",
        "",
        *_protocol(record),
    ]
    verdicts = tuned_verdicts(record)
    for grid in record["grids"]:
        task = grid["task"]
        metric, larger_better = pruning_report.PRIMARY_METRIC[task]
        title = "test log-loss" if task == "criteo" else "test accuracy"
        steps = sorted({r["steps"] for r in record["rows"] if r["task"] == task})
        for block in grid["blocks"]:
            for sparsity in grid["sparsities"]:
                lines += [
                    f"## {task}, {block}x{block} blocks, {sparsity:.0%} sparsity",
                    "",
                    f"{title.capitalize()} over the final seeds ({steps[-1]} "
                    f"steps; {_TEST_SPLIT[task]}); validation: the same metric on "
                    "the held-out part of the training split, one seed.",
                    "",
                ]
                table, choices = [], []
                for method in record["methods"]:
                    found = _lookup(results, task, method, block, sparsity)
                    entry = _entry(record, task, method, block, sparsity)
                    if found is None:
                        continue
                    default, tuned = found["default"], found["tuned"]
                    lead, noise, verdict = pruning_report.compare_means(
                        tuned, default, metric, larger_better
                    )
                    scores = _validation_scores(record, entry)
                    table.append(
                        [
                            pruning_report.LABELS[method],
                            _fmt(default, metric),
                            _fmt(tuned, metric),
                            f"{lead:+.4f} ({_CHANGE[verdict]})"
                            if entry["chosen"]
                            else "- (default chosen)",
                            entry["chosen"],
                            f"{scores[0]:.4f} -> {scores[entry['chosen']]:.4f}",
                        ]
                    )
                    choices.append(
                        [
                            pruning_report.LABELS[method],
                            entry["chosen"],
                            _config_text(entry["configs"][entry["chosen"]]),
                            " / ".join(
                                f"**{s:.4f}**" if i == entry["chosen"] else f"{s:.4f}"
                                for i, s in enumerate(scores)
                            ),
                        ]
                    )
                header = [
                    "method",
                    f"paper defaults ({title})",
                    "tuned",
                    "tuned lead (verdict)",
                    "chosen config",
                    "validation: default -> chosen",
                ]
                lines += [*markdown_table(header, table), ""]
                for v in verdicts:
                    if (v["task"], v["block"], v["sparsity"]) == (
                        task,
                        block,
                        sparsity,
                    ):
                        lines.append(
                            f"- SA++ with {v['setting']} settings {v['verdict']} "
                            f"against {pruning_report.LABELS[v['runner_up']]} "
                            f"(lead {v['lead']:+.4f}, noise {v['noise']:.4f})."
                        )
                lines += [
                    "",
                    "Chosen configurations and every validation score (config "
                    "0, 1, ...; the chosen one in bold):",
                    "",
                    *markdown_table(
                        ["method", "chosen", "configuration", "validation scores"],
                        choices,
                    ),
                    "",
                ]
    return "\n".join(lines)


def _entry(record, task, method, block, sparsity) -> dict | None:
    if method == DENSE:
        block = sparsity = None
    for entry in record["configs"]:
        if (entry["task"], entry["method"], entry["block"], entry["sparsity"]) == (
            task,
            method,
            block,
            sparsity,
        ):
            return entry
    return None


def _validation_scores(record, entry) -> list[float]:
    metric, _ = pruning_report.PRIMARY_METRIC[entry["task"]]
    rows = {
        r["config"]: r[metric]
        for r in record["rows"]
        if r["stage"] == "selection"
        and (r["task"], r["method"], r["block"], r["sparsity"])
        == (entry["task"], entry["method"], entry["block"], entry["sparsity"])
    }
    return [rows[i] for i in range(len(entry["configs"]))]


def write_tune_results(record: dict, folder, stem: str):
    """``<stem>.{json,md}``, atomically."""
    return write_results(folder, stem, record, tune_markdown(record))
