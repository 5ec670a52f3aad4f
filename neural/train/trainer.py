"""The training loop: optimizer, pruner, schedule, data, checkpoints, metrics, DDP.

Construction order (each step needs the previous one):

1. the model goes to its device (``channels_last`` on CUDA if asked);
2. the optimizer (:func:`~neural.train.optim.build_optimizer`);
3. the pruner, by the user's factory ``(model, optimizer, total_steps)``: it
   registers its parametrizations and adds SA++'s logits to the optimizer;
4. the learning-rate schedule, which records every group's initial rate;
5. on resume: the model's, optimizer's, schedule's and pruner's states, in that
   order (the model's ``state_dict`` holds the parametrizations' masks and logits,
   so it loads into the model the factory just prepared);
6. ``DistributedDataParallel`` under ``torchrun``, after the parametrizations
   exist (they change the parameters);
7. the generator states.

One step is forward (bf16 autocast on CUDA) -> loss -> backward -> optional
gradient clipping -> ``optimizer.step()`` -> ``pruner.step()`` ->
``scheduler.step()``. The loss is read on the host (``.item()``) only at logging
steps, where, under DDP, it is also averaged over the ranks.

After the last step the pruner is finalized; its support history
(``pruner.history()``: blocks swapped at every entry into a sparse phase) goes
to ``support.csv`` in the run folder and its summary into the report.

A checkpoint is written only after a step is complete, atomically, with a
SHA-256 record (:mod:`neural.train.checkpoint`); a run killed at any point
resumes from the newest valid one and ends bit-identical to an uninterrupted run
on the CPU: :mod:`neural.train.state` lists what a checkpoint holds and why that
suffices.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence

import torch
from tqdm import tqdm

from .checkpoint import CheckpointManager, load_checkpoint
from .config import TrainConfig
from .device import autocast, call_model, to_device
from .distributed import (
    all_gather_objects,
    all_reduce_sum,
    barrier,
    broadcast_object,
    init_distributed,
    shutdown,
    wrap_model,
)
from .evaluate import compute_loss, evaluate
from .metrics import SUPPORT_NAME, MetricsWriter
from .optim import build_optimizer, build_scheduler
from .result import TrainResult
from .rng import get_rng_state, mix_seed, seed_everything
from .sampler import ResumableBatchSampler, SeededDataset, make_loader
from .state import capture_state, check_resumable, restore_rng, restore_state

__all__ = ["PrunerFactory", "Trainer", "train"]

PrunerFactory = Callable[[torch.nn.Module, torch.optim.Optimizer, int], object]
"""``(model, optimizer, total_steps) -> pruner``, e.g. a ``neural.prune`` call."""

_GLOBAL = 5  # mix_seed tag of the global generators' seed
_PRUNER_METHODS = ("step", "finalize", "state_dict", "load_state_dict")


class Trainer:
    """Train (and block-prune) a model; see the module docstring for the order.

    Parameters
    ----------
    model : torch.nn.Module
        Called ``model(inputs)`` for a tensor input, ``model(*inputs)`` for a
        tuple. Build it the same way (same seed) when resuming.
    train_data : torch.utils.data.Dataset
        Map-style, yielding ``(inputs, target)``; a ``collate_fn`` attribute, if
        present, collates its batches.
    config : TrainConfig
    eval_data : torch.utils.data.Dataset, optional
        Evaluated every ``config.eval_every`` steps and after finalization.
    pruner_factory : callable, optional
        ``(model, optimizer, total_steps) -> pruner``; the pruner must prune that
        model and be given that optimizer, e.g. ``lambda m, o, t: neural.prune(m,
        "sapp", sparsity=0.9, block=16, total_steps=t, optimizer=o)``.
    callbacks : sequence of callable, default=()
        Each is called as ``callback(step)`` after every step (after its logging,
        evaluation and checkpoint).

    Attributes
    ----------
    model_ : torch.nn.Module
        The model being trained (unwrapped), set by :meth:`fit`.
    optimizer_, scheduler_, pruner_ : objects
        Built by :meth:`fit`.
    context_ : DistributedContext
    device_ : torch.device
    step_ : int
        Steps taken so far.
    total_steps_ : int
        ``config.total_steps``, or ``epochs * steps_per_epoch_``.
    steps_per_epoch_ : int
        Global batches per epoch.

    Examples
    --------
    >>> import torch
    >>> from torch.utils.data import TensorDataset
    >>> from neural.models import MLP
    >>> _ = torch.manual_seed(0)
    >>> data = TensorDataset(torch.randn(64, 20), torch.randint(0, 3, (64,)))
    >>> config = TrainConfig(total_steps=8, batch_size=16, lr=0.05, device="cpu",
    ...                      progress=False, log_every=4)
    >>> result = Trainer(MLP([20, 64, 64, 3]), data, config, eval_data=data).fit()
    >>> result.steps, sorted(result.final_eval)
    (8, ['accuracy', 'loss', 'n_samples'])
    """

    def __init__(
        self,
        model: torch.nn.Module,
        train_data,
        config: TrainConfig,
        *,
        eval_data=None,
        pruner_factory: PrunerFactory | None = None,
        callbacks: Sequence[Callable[[int], None]] = (),
    ):
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module; got {type(model)}.")
        if not isinstance(config, TrainConfig):
            raise TypeError(f"`config` must be a TrainConfig; got {type(config)}.")
        if pruner_factory is not None and not callable(pruner_factory):
            raise TypeError(
                "`pruner_factory` must be callable (model, optimizer, total_steps) "
                f"-> pruner; got {type(pruner_factory).__name__}."
            )
        callbacks = tuple(callbacks)
        for callback in callbacks:
            if not callable(callback):
                raise TypeError(f"`callbacks` must hold callables; got {callback!r}.")
        self.model = model
        self.train_data = train_data
        self.eval_data = eval_data
        # Map-style checks now rather than at the first batch or evaluation.
        self._train_data = SeededDataset(train_data)
        if eval_data is not None:
            SeededDataset(eval_data)
        self.config = config
        self.pruner_factory = pruner_factory
        self.callbacks = callbacks

    # -- public -------------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Train to ``total_steps`` (resuming if asked), finalize, evaluate.

        Returns
        -------
        TrainResult

        Raises
        ------
        FileExistsError
            If ``run_dir`` holds checkpoints and ``resume`` is off.
        ValueError
            If a checkpoint's configuration differs from this one in an option
            outside :data:`~neural.train.config.RESUME_FREE`, or the data give no
            full batch.
        RuntimeError
            If called a second time.
        """
        if hasattr(self, "context_"):
            raise RuntimeError(
                "fit() was already called on this Trainer (its model may be "
                "finalized); build a new Trainer, with resume=True to continue."
            )
        context, device = init_distributed(self.config.device)
        self.context_, self.device_ = context, device
        deterministic = torch.are_deterministic_algorithms_enabled()
        try:
            if self.config.deterministic:
                _enable_determinism(device)
            return self._fit()
        finally:
            torch.use_deterministic_algorithms(deterministic)
            self._ddp_model = None  # release DDP's hold on the group first
            shutdown(context)

    # -- setup ----------------------------------------------------------------------

    def _fit(self) -> TrainResult:
        cfg, context, device = self.config, self.context_, self.device_
        self._amp = cfg.mixed_precision and device.type == "cuda"
        self._channels_last = cfg.channels_last and device.type == "cuda"
        sampler = ResumableBatchSampler(
            len(self._train_data),
            cfg.batch_size,
            seed=cfg.seed,
            shuffle=cfg.shuffle,
            drop_last=cfg.drop_last,
            world_size=context.world_size,
            rank=context.rank,
        )
        self.steps_per_epoch_ = sampler.batches_per_epoch
        if self.steps_per_epoch_ == 0:
            raise ValueError(
                f"`batch_size` {cfg.batch_size} exceeds the {len(self._train_data)} "
                "training samples with drop_last=True: an epoch has no batch."
            )
        total = cfg.total_steps or cfg.epochs * self.steps_per_epoch_
        self.total_steps_ = total
        model = self.model.to(device)
        if self._channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model_ = model
        self.optimizer_ = build_optimizer(
            model.parameters(),
            cfg.optimizer,
            lr=cfg.lr,
            momentum=cfg.momentum,
            nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay,
            betas=cfg.betas,
            eps=cfg.eps,
        )
        self.pruner_ = None
        if self.pruner_factory is not None:
            self.pruner_ = self.pruner_factory(model, self.optimizer_, total)
            _check_pruner(self.pruner_, model, self.optimizer_, total)
        self.scheduler_ = build_scheduler(
            self.optimizer_,
            cfg.schedule,
            total_steps=total,
            warmup_steps=cfg.warmup_steps,
            final_lr=cfg.final_lr,
        )
        seed_everything(mix_seed(_GLOBAL, cfg.seed, context.rank))
        self._manager = (
            None
            if cfg.run_dir is None
            else CheckpointManager(cfg.run_dir, cfg.keep_checkpoints)
        )
        self._writer = MetricsWriter(
            cfg.run_dir, enabled=context.is_main, tensorboard=cfg.tensorboard
        )
        self.step_, self._epoch, self._batch, self._elapsed = 0, 0, 0, 0.0
        self._loss_sum = torch.zeros((), dtype=torch.float32, device=device)
        self._loss_count = 0
        self._checkpoint_path = self._resumed_from = None
        state = self._load_state()
        self._ddp_model = wrap_model(model, context, device)
        if state is not None:
            self._restore_rng(state)
        try:
            return self._run(sampler)
        finally:
            self._writer.close()

    def _find_checkpoint(self):
        """Rank 0: the checkpoint to resume from (loaded), or an error message."""
        cfg, manager = self.config, self._manager
        if manager is None:
            return {"path": None}, None
        manager.remove_temporaries()
        if not cfg.resume:
            if manager.checkpoints():
                message = (
                    f"`run_dir` {cfg.run_dir!r} already holds checkpoints; pass "
                    "resume=True to continue that run or use another folder."
                )
                return {"error": message}, None
            return {"path": None}, None
        found = manager.load_latest(map_location="cpu")
        if found is None:
            return {"path": None}, None
        return {"path": str(found[0])}, found[1]

    def _load_state(self):
        # Read onto the CPU: load_state_dict puts weights and optimizer state on
        # their parameters' devices, and the generator states must stay on the
        # host (set_rng_state takes CPU byte tensors; Adam keeps its step counts
        # there, where reading them needs no device sync).
        context = self.context_
        outcome, state = self._find_checkpoint() if context.is_main else (None, None)
        outcome = broadcast_object(outcome, context)
        if "error" in outcome:
            raise FileExistsError(outcome["error"])
        if outcome["path"] is None:
            self._writer.truncate(0)
            return None
        if state is None:  # another rank: read the file rank 0 chose
            state = load_checkpoint(outcome["path"], map_location="cpu")
        check_resumable(
            state, config=self.config, pruner=self.pruner_, path=outcome["path"]
        )
        restore_state(
            state,
            model=self.model_,
            optimizer=self.optimizer_,
            scheduler=self.scheduler_,
            pruner=self.pruner_,
        )
        position = state["position"]
        self.step_ = position["step"]
        self._epoch, self._batch = position["epoch"], position["batch"]
        self._elapsed = position["elapsed_s"]
        self._loss_sum.copy_(state["log_accumulator"]["loss_sum"])
        self._loss_count = state["log_accumulator"]["count"]
        self._checkpoint_path = self._resumed_from = outcome["path"]
        self._writer.truncate(self.step_)
        return state

    def _restore_rng(self, state) -> None:
        context = self.context_
        restore_rng(
            state,
            rank=context.rank,
            world_size=context.world_size,
            device=self.device_,
            reseed=mix_seed(_GLOBAL, self.config.seed, context.rank, self.step_),
            path=self._resumed_from,
        )

    # -- the loop -------------------------------------------------------------------

    def _batches(self, sampler):
        epoch, batch = self._epoch, self._batch
        pin = self.device_.type == "cuda"
        while True:
            sampler.set_epoch(epoch, batch)
            loader = make_loader(
                self._train_data,
                sampler,
                num_workers=self.config.num_workers,
                pin_memory=pin,
            )
            for item in loader:
                yield epoch, batch, item
                batch += 1
            epoch, batch = epoch + 1, 0

    def _run(self, sampler) -> TrainResult:
        cfg, context = self.config, self.context_
        show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
        bar = tqdm(
            total=self.total_steps_,
            initial=self.step_,
            desc="training",
            unit="step",
            file=sys.stderr,
            disable=not (show and context.is_main),
            dynamic_ncols=True,
        )
        self._train_loss = self._last_eval = None
        self._clock = time.perf_counter() - self._elapsed
        self._interval_start, self._interval_samples = time.perf_counter(), 0
        self._ddp_model.train()
        stream = self._batches(sampler)
        try:
            while self.step_ < self.total_steps_:
                epoch, batch, item = next(stream)
                self._train_step(item)
                self.step_ += 1
                self._epoch, self._batch = (
                    (epoch + 1, 0)
                    if batch + 1 == self.steps_per_epoch_
                    else (epoch, batch + 1)
                )
                bar.update(1)
                self._after_step(bar)
        finally:
            stream.close()
            bar.close()
        return self._finish()

    def _train_step(self, item) -> None:
        cfg, device = self.config, self.device_
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise TypeError(
                "each training batch must be a pair (inputs, target); got "
                f"{type(item).__name__}."
            )
        inputs = to_device(item[0], device, self._channels_last)
        target = to_device(item[1], device)
        self._lr = self.optimizer_.param_groups[0]["lr"]
        with autocast(device, self._amp):
            output = call_model(self._ddp_model, inputs)
        loss = compute_loss(cfg.loss, output, target)
        self.optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model_.parameters(), cfg.grad_clip_norm)
        self.optimizer_.step()
        if self.pruner_ is not None:
            self.pruner_.step()
        self.scheduler_.step()
        self._loss_sum += loss.detach()
        self._loss_count += 1
        self._interval_samples += target.shape[0]

    def _after_step(self, bar) -> None:
        cfg, step = self.config, self.step_
        last = step == self.total_steps_
        if step % cfg.log_every == 0 or last:
            self._log(bar)
        if self.eval_data is not None and cfg.eval_every and step % cfg.eval_every == 0:
            self._last_eval = self._evaluate("eval")
        if self._manager is not None and (
            last or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)
        ):
            self._save_checkpoint()
        for callback in self.callbacks:
            callback(step)

    def _log(self, bar) -> None:
        if self._loss_count == 0:
            return
        context = self.context_
        totals = torch.stack(
            [self._loss_sum, self._loss_sum.new_tensor(float(self._loss_count))]
        )
        loss_sum, count = all_reduce_sum(totals, context).tolist()
        now = time.perf_counter()
        samples = self._interval_samples * context.world_size
        record = {
            "step": self.step_,
            "epoch": self.step_ / self.steps_per_epoch_,
            "split": "train",
            "loss": loss_sum / count,
            "lr": self._lr,
            "samples_per_s": samples / max(now - self._interval_start, 1e-9),
            "elapsed_s": now - self._clock,
        }
        if self.pruner_ is not None and hasattr(self.pruner_, "phase"):
            record["phase"] = self.pruner_.phase.kind
        self._writer.write(record)
        self._train_loss = record["loss"]
        bar.set_postfix(loss=f"{record['loss']:.4g}", refresh=False)
        self._loss_sum.zero_()
        self._loss_count = 0
        self._interval_start, self._interval_samples = now, 0

    def _evaluate(self, split: str) -> dict:
        cfg, context = self.config, self.context_
        batch = math.ceil((cfg.eval_batch_size or cfg.batch_size) / context.world_size)
        metrics = evaluate(
            self.model_,
            self.eval_data,
            loss=cfg.loss,
            batch_size=batch,
            device=self.device_,
            context=context,
            num_workers=cfg.num_workers,
            mixed_precision=self._amp,
            channels_last=self._channels_last,
            seed=cfg.seed,
        )
        record = {
            "step": self.step_,
            "epoch": self.step_ / self.steps_per_epoch_,
            "split": split,
            **metrics,
        }
        self._writer.write(record)
        return metrics

    def _checkpoint_state(self, rng_states) -> dict:
        return capture_state(
            model=self.model_,
            optimizer=self.optimizer_,
            scheduler=self.scheduler_,
            pruner=self.pruner_,
            position={
                "step": self.step_,
                "epoch": self._epoch,
                "batch": self._batch,
                "elapsed_s": time.perf_counter() - self._clock,
            },
            log_accumulator={"loss_sum": self._loss_sum, "count": self._loss_count},
            rng_states=rng_states,
            config=self.config,
        )

    def _save_checkpoint(self) -> None:
        context = self.context_
        rng_states = all_gather_objects(
            get_rng_state(cuda=self.device_.type == "cuda"), context
        )
        if context.is_main:
            path = self._manager.save(self.step_, self._checkpoint_state(rng_states))
            self._checkpoint_path = str(path)
        barrier(context)

    def _finish(self) -> TrainResult:
        cfg, context = self.config, self.context_
        model, report = self.model_, None
        if self.pruner_ is not None:
            model = self.pruner_.finalize()
            report = self.pruner_.report() if hasattr(self.pruner_, "report") else None
            if hasattr(self.pruner_, "history"):
                self._writer.write_table(
                    SUPPORT_NAME, [r.to_dict() for r in self.pruner_.history()]
                )
        final_eval = None
        if self.eval_data is not None and cfg.final_eval:
            final_eval = self._evaluate("final")
        model_path = None
        if self._manager is not None:
            if context.is_main:
                model_path = str(self._manager.save_model(model.state_dict()))
            model_path = broadcast_object(model_path, context)
            barrier(context)
        return TrainResult(
            model=model,
            pruner=self.pruner_,
            steps=self.step_,
            epochs=self.step_ / self.steps_per_epoch_,
            train_loss=self._train_loss,
            eval=self._last_eval,
            final_eval=final_eval,
            report=report,
            run_dir=cfg.run_dir,
            checkpoint=self._checkpoint_path,
            model_path=model_path,
            resumed_from=self._resumed_from,
        )


def train(
    model: torch.nn.Module,
    train_data,
    config: TrainConfig,
    *,
    eval_data=None,
    pruner_factory: PrunerFactory | None = None,
    callbacks: Sequence[Callable[[int], None]] = (),
) -> TrainResult:
    """Train ``model`` on ``train_data`` as ``config`` says: ``Trainer(...).fit()``.

    See :class:`Trainer` for the parameters.

    Returns
    -------
    TrainResult
    """
    return Trainer(
        model,
        train_data,
        config,
        eval_data=eval_data,
        pruner_factory=pruner_factory,
        callbacks=callbacks,
    ).fit()


def _check_pruner(pruner, model, optimizer, total_steps) -> None:
    missing = [
        name for name in _PRUNER_METHODS if not callable(getattr(pruner, name, None))
    ]
    if missing:
        raise TypeError(
            f"`pruner_factory` returned {type(pruner).__name__}, which lacks the "
            f"pruner methods {missing}."
        )
    if getattr(pruner, "model", model) is not model:
        raise ValueError("`pruner_factory` must prune the model it is given.")
    if getattr(pruner, "optimizer", optimizer) is not optimizer:
        raise ValueError(
            "`pruner_factory` must pass the optimizer it is given to the pruner "
            "(optimizer=...): the pruner resets its state at phase switches and "
            "adds SA++'s logits to it."
        )
    steps = getattr(pruner, "total_steps", total_steps)
    if steps != total_steps:
        raise ValueError(
            f"`pruner_factory` must use the total_steps it is given ({total_steps}); "
            f"the pruner has total_steps={steps}."
        )


def _enable_determinism(device: torch.device) -> None:
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True)
