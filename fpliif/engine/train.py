"""The training loop: the paper's recipe, AMP, LIIF point sampling, DDP, atomic checkpoints, exact resume.

    fpliif train --config demo                                   # one process
    torchrun --nproc_per_node=4 -m fpliif train --config paper-lapa  # DDP: nccl on GPU, gloo on CPU

The run folder gets ``config.yaml`` (the resolved config), ``log.jsonl`` (one JSON line per
epoch), ``last.pt`` after every epoch and ``best.pt`` at the best validation mean F1. Only rank 0
writes. ``--resume`` continues from ``last.pt`` exactly where it stopped: all randomness derives
from (seed, epoch, sample index), see ``fpliif.engine.sampling``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..fileio import atomic_write, remove_stale_temps
from ..losses import FaceParsingLoss
from ..models import build_model
from ..precision import autocast, dtype_name, training_dtype
from ..provenance import now
from .checkpoint import atomic_save, check_compatible, load_checkpoint, make_checkpoint
from .config import OptimConfig, TrainConfig, apply_overrides, flatten_config, load_config, save_config
from .distributed import (
    DistInfo,
    GlobalBatchSampler,
    all_reduce_sum,
    barrier,
    cleanup_distributed,
    init_distributed,
)
from .evaluate import evaluate
from .sampling import SeededView

# Keys that may change when a run is resumed; anything else must match the saved config.
RESUMABLE_CHANGES = {
    "optim.epochs",
    "run.max_minutes",
    "run.device",
    "run.threads",
    "run.log_every",
    "run.out",
    "data.root",
    "data.workers",
    "data.cache",
}


def check_resume_compatible(saved: dict[str, Any], cfg: TrainConfig) -> None:
    a, b = flatten_config(saved), flatten_config(cfg.to_dict())
    diffs = [f"{k} ({a.get(k)!r} -> {b.get(k)!r})" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    diffs = [d for d in diffs if d.split(" ")[0] not in RESUMABLE_CHANGES]
    if diffs:
        raise ConfigError("cannot resume: the config differs from the run's saved one in " + ", ".join(diffs))


def init_weights(model: nn.Module, source: str | Path) -> None:
    """Load a trained model's weights (a ``.pt`` checkpoint or a weights folder, read with
    ``weights_only``) into ``model``, the start of a fine-tuning run; the two must be one model."""
    from ..weights import load_weights  # reads safetensors folders too; keep it lazy

    trained, _meta = load_weights(source)
    state = trained.state_dict()
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    if want != have:
        differ = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        raise ConfigError(
            f"model.init {source}: its weights do not fit this run's model "
            f"({len(differ)} tensors differ, e.g. {differ[0]}: {have.get(differ[0])} there, "
            f"{want.get(differ[0])} here); the model name, options and classes must be the same"
        )
    model.load_state_dict(state)


def make_scheduler(optimizer: torch.optim.Optimizer, o: OptimConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule, stepped once per epoch: the paper's steps, or a cosine to zero."""
    if o.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=o.lr_step, gamma=o.lr_gamma)
    if o.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, o.epochs))
    raise ConfigError(f"optim.schedule must be step or cosine, got {o.schedule!r}")


def _build_datasets(cfg: TrainConfig, out: Path, dinfo: DistInfo):
    from ..data import AugmentConfig, build_dataset  # the data layer imports torchvision; keep it lazy

    d = cfg.data
    augment: Any = AugmentConfig.from_dict({"hflip": d.hflip, **d.augment_options}) if d.augment else False
    common = {"image_size": d.image_size, "skip_bad": d.skip_bad, "cache": d.cache}
    common["split_seed"] = d.split_seed
    train_ds = build_dataset(
        d.name, d.root, d.train_split, augment=augment, report=out / f"skipped-{d.train_split}.json", **common
    )
    val_ds = None
    if cfg.run.eval_every > 0:
        val_ds = build_dataset(
            d.name, d.root, d.val_split, augment=False, report=out / f"skipped-{d.val_split}.json", **common
        )
    return train_ds, val_ds


class Trainer:
    """One training run (see the module docstring). ``fit()`` returns a summary dict."""

    def __init__(self, cfg: TrainConfig, *, resume: bool = False, progress: bool = True) -> None:
        self.cfg = cfg
        self.progress = progress
        self.dist = init_distributed(cfg.run.device)
        self.device = self.dist.device
        if cfg.run.threads > 0:
            torch.set_num_threads(cfg.run.threads)
        if cfg.run.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.out = Path(cfg.run.out)
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        barrier()

        o = cfg.optim
        batch = o.global_batch(self.dist.world_size)
        if batch < self.dist.world_size:  # a global batch need not divide: 33 on 4 ranks is 9, 8, 8, 8
            raise ConfigError(
                f"optim.batch_size={o.batch_size} gives fewer samples than the {self.dist.world_size} ranks"
            )
        self.amp_dtype = training_dtype(o.amp, self.device)
        if o.amp == "auto" and self.amp_dtype is None and self.dist.is_main:
            print("fpliif train: training in fp32 (optim.amp=auto: bf16 is not native on this CPU)")

        self.train_ds, self.val_ds = _build_datasets(cfg, self.out, self.dist)
        self.info = self.train_ds.info
        if len(self.train_ds) < batch:
            raise ConfigError(
                f"the training split has {len(self.train_ds)} samples, fewer than one batch of {batch}"
            )

        torch.manual_seed(cfg.run.seed)  # identical initial weights on every rank
        model = build_model(cfg.model.name, num_classes=self.info.num_classes, **cfg.model.options)
        has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
        if self.dist.distributed and has_bn:  # batch statistics over the global batch
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        if cfg.model.init and not resume:
            init_weights(model, cfg.model.init)
        self.model = model.to(self.device)
        self.loss_fn = FaceParsingLoss(edge_weight=o.edge_weight, temperature=self.model.config.temperature)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=o.lr)
        self.scheduler = make_scheduler(self.optimizer, o)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None

        self.epoch = 0  # epochs completed
        self.step = 0
        self.best = float("-inf")
        self.history: list[dict[str, Any]] = []  # the log.jsonl records; carried in last.pt
        if self.dist.is_main:
            for p in remove_stale_temps(self.out):
                print(f"fpliif train: removed {p.name}, left by a writer that was killed")
        if resume:
            self._resume()
        if self.dist.is_main:
            save_config(cfg, self.out / "config.yaml")

        self.view = SeededView(
            self.train_ds, seed=cfg.run.seed, sample_points=o.sample_points, point_balance=o.point_balance
        )
        self.sampler = GlobalBatchSampler(
            len(self.view),
            global_batch=o.global_batch(self.dist.world_size),
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            seed=cfg.run.seed,
        )
        self.loader = DataLoader(
            self.view,
            batch_sampler=self.sampler,
            num_workers=cfg.data.workers,
            pin_memory=self.device.type == "cuda",
        )
        self.ddp: nn.Module = self.model
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.model, device_ids=ids)

    # -- checkpoints -------------------------------------------------------------------------
    def _checkpoint(self, metrics: dict[str, Any]) -> dict[str, Any]:
        return make_checkpoint(
            self.model,
            model_name=self.cfg.model.name,
            class_names=list(self.info.class_names),
            train_config=self.cfg.to_dict(),
            metrics=metrics,
            dataset=self.info.name,
            data_split=self.train_ds.record,  # how a flat subset was split (empty otherwise)
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            scaler=self.scaler.state_dict() if self.scaler else None,
            epoch=self.epoch,
            step=self.step,
            best_mean_f1=self.best,
            log=self.history,
        )

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.exists():
            if self.dist.is_main:
                print(f"fpliif train: nothing to resume in {self.out} (no last.pt); starting from scratch")
            return
        ckpt = load_checkpoint(path)
        check_resume_compatible(ckpt.get("train_config") or {}, self.cfg)
        check_compatible(ckpt, num_classes=self.info.num_classes, source=str(path))
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch, self.step, self.best = int(ckpt["epoch"]), int(ckpt["step"]), float(ckpt["best_mean_f1"])
        self.history = list(ckpt.get("log") or [])
        if self.dist.is_main:  # a kill after last.pt but before the log write lost nothing: rebuild it
            self._write_log()
        if self.dist.is_main:
            print(f"fpliif train: resumed {path} after epoch {self.epoch} (step {self.step})")

    # -- one epoch ---------------------------------------------------------------------------
    def _train_epoch(self) -> dict[str, float]:
        o = self.cfg.optim
        self.ddp.train()
        self.sampler.set_epoch(self.epoch)
        self.view.set_epoch(self.epoch)
        totals = torch.zeros(4, dtype=torch.float64)  # ce sum, valid px, edge-ce sum, edge px
        images_seen = 0
        start = time.perf_counter()
        bar = tqdm(
            self.loader,
            desc=f"epoch {self.epoch + 1}/{o.epochs}",
            disable=not (self.progress and self.dist.is_main),
            leave=False,
            mininterval=1.0,
        )
        for i, batch in enumerate(bar):
            images = batch["image"].to(self.device, non_blocking=True)
            with autocast(self.device, self.amp_dtype):
                if o.sample_points > 0:
                    target = batch["point_label"].to(self.device)
                    edges = batch["point_edge"].to(self.device)
                    logits = self.ddp(images, coords=batch["coords"].to(self.device))
                else:
                    target = batch["label"].to(self.device)
                    edges = None
                    logits = self.ddp(images, tuple(target.shape[-2:]))
            ce_sum, n_valid, edge_sum, n_edges = self.loss_fn.terms(logits, target, edges)
            counts = all_reduce_sum(torch.stack([n_valid, n_edges]).double().detach())
            # Normalising by the global counts (times the world size, as DDP averages gradients)
            # makes N ranks take the step of one process on the whole batch, up to round-off.
            loss = self.loss_fn.combine(ce_sum, counts[0], edge_sum, counts[1]) * self.dist.world_size
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if o.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), o.grad_clip)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            self.step += 1
            images_seen += images.shape[0]
            totals += torch.stack([ce_sum.detach(), n_valid, edge_sum.detach(), n_edges]).double().cpu()
            if self.dist.is_main and i % max(1, self.cfg.run.log_every) == 0:
                bar.set_postfix(loss=f"{loss.item() / self.dist.world_size:.4f}")
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        totals = all_reduce_sum(totals)
        seen = int(all_reduce_sum(torch.tensor([images_seen], dtype=torch.float64)).item())
        ce = float(totals[0] / totals[1].clamp(min=1))
        edge_ce = float(totals[2] / totals[3].clamp(min=1))
        return {
            "loss": ce + o.edge_weight * edge_ce,
            "ce": ce,
            "edge_ce": edge_ce,
            "images_per_s": seen / seconds if seconds > 0 else 0.0,
            "epoch_s": seconds,
        }

    def validate(self) -> dict[str, Any]:
        assert self.val_ds is not None
        size = self.cfg.run.eval_size or self.cfg.data.image_size
        amp = dtype_name(self.amp_dtype)
        result = evaluate(
            self.model,
            self.val_ds,
            num_classes=self.info.num_classes,
            class_names=self.info.class_names,
            sizes=(size,),
            score_size=size,
            input_size=self.cfg.data.image_size,
            batch_size=max(1, -(-self.cfg.optim.global_batch(self.dist.world_size) // self.dist.world_size)),
            device=self.device,
            dtype=amp,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            progress=self.progress,
        )
        scores = result.scores[f"at{size}"]
        return {
            "mean_f1": scores["mean_f1"],
            "miou": scores["miou"],
            "f1": scores["f1"],
            "size": size,
            "dtype": amp,
        }

    # -- the run -----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        cfg = self.cfg
        started = time.perf_counter()
        val: dict[str, Any] = {}
        while self.epoch < cfg.optim.epochs:
            stats = self._train_epoch()
            lr = self.scheduler.get_last_lr()[0]
            self.scheduler.step()
            self.epoch += 1
            stop = cfg.run.max_minutes > 0 and self._stop_for_time(time.perf_counter() - started)
            do_val = self.val_ds is not None and (
                self.epoch % cfg.run.eval_every == 0 or self.epoch == cfg.optim.epochs or stop
            )
            improved = False
            if do_val:
                val = self.validate()
                improved = val["mean_f1"] > self.best
                self.best = max(self.best, val["mean_f1"])
            elapsed = time.perf_counter() - started
            record = {"epoch": self.epoch, "step": self.step, "lr": lr, **stats, "elapsed_s": elapsed}
            record["amp"] = dtype_name(self.amp_dtype)  # what optim.amp (auto) resolved to here
            if do_val:
                record |= {"val_mean_f1": val["mean_f1"], "val_miou": val["miou"], "best_mean_f1": self.best}
            record["time"] = now()
            self.history.append(record)
            if self.dist.is_main:
                # Order matters under SIGKILL: last.pt is the commit point of the epoch. best.pt goes
                # first, so a kill between the two reruns the epoch (rewriting best.pt) instead of
                # losing it; log.jsonl goes last and is rebuilt from last.pt's copy on --resume.
                ckpt = self._checkpoint({"val": val} if do_val else {})
                if improved or self.val_ds is None:
                    atomic_save(ckpt, self.out / "best.pt")
                atomic_save(ckpt, self.out / "last.pt")
                self._write_log()
                if self.progress:
                    msg = f"epoch {self.epoch}/{cfg.optim.epochs} loss {stats['loss']:.4f}"
                    msg += f" {stats['images_per_s']:.1f} img/s"
                    if do_val:
                        msg += f" val mF1 {100 * val['mean_f1']:.2f} mIoU {100 * val['miou']:.2f}"
                    print(msg, flush=True)
            if stop:
                if self.dist.is_main:
                    print(
                        f"fpliif train: time limit of {cfg.run.max_minutes} min "
                        f"reached after epoch {self.epoch}"
                    )
                break
        barrier()
        return {
            "run": str(self.out),
            "epochs": self.epoch,
            "steps": self.step,
            "best_mean_f1": self.best if self.best > float("-inf") else None,
            "last_val": val,
            "seconds": time.perf_counter() - started,
        }

    def _write_log(self) -> None:
        atomic_write(self.out / "log.jsonl", "".join(json.dumps(r) + "\n" for r in self.history))

    def _stop_for_time(self, elapsed: float) -> bool:
        # rank 0 decides, so every rank stops after the same epoch
        flag = torch.tensor([1.0 if elapsed > self.cfg.run.max_minutes * 60 else 0.0], dtype=torch.float64)
        if self.dist.distributed:
            flag = flag * (1.0 if self.dist.is_main else 0.0)
            flag = all_reduce_sum(flag)
        return bool(flag.item() > 0)


def train(cfg: TrainConfig, *, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run training as configured (inside torchrun, as one of its ranks). Returns the summary."""
    try:
        return Trainer(cfg, resume=resume, progress=progress).fit()
    finally:
        cleanup_distributed()


__all__ = ["Trainer", "check_resume_compatible", "train"]


# -- command line ------------------------------------------------------------------------------
def configure(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.epilog = (
        "config defaults (the paper's recipe; see fpliif/engine/config.py for the reasons):\n"
        + "\n".join(f"  {k} = {v}" for k, v in flatten_config(d.to_dict()).items())
    )
    p.add_argument(
        "--config", default=None, help="a name in configs/train/ (demo, paper-lapa, ...) or a YAML path"
    )
    p.add_argument(
        "-o",
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value, e.g. -o optim.lr=1e-3 (repeatable)",
    )
    S = argparse.SUPPRESS  # the shortcuts below default to the config's value
    p.add_argument("--out", default=S, help=f"run folder: run.out (default: {d.run.out})")
    p.add_argument("--data-root", default=S, help=f"dataset folder: data.root (default: {d.data.root})")
    p.add_argument("--epochs", type=int, default=S, help=f"optim.epochs (default: {d.optim.epochs})")
    p.add_argument(
        "--batch-size",
        type=int,
        default=S,
        help=f"global batch: optim.batch_size (default: {d.optim.batch_size})",
    )
    p.add_argument("--device", default=S, help=f"auto, cpu or cuda: run.device (default: {d.run.device})")
    p.add_argument("--seed", type=int, default=S, help=f"run.seed (default: {d.run.seed})")
    p.add_argument("--deterministic", action="store_true", help="run.deterministic=true")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt if it exists")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    flags = {
        "run.out": getattr(args, "out", None),
        "data.root": getattr(args, "data_root", None),
        "optim.epochs": getattr(args, "epochs", None),
        "optim.batch_size": getattr(args, "batch_size", None),
        "run.device": getattr(args, "device", None),
        "run.seed": getattr(args, "seed", None),
        "run.deterministic": True if args.deterministic else None,
    }
    overrides = list(args.overrides) + [f"{k}={v}" for k, v in flags.items() if v is not None]
    base = args.config
    if base is None and args.resume:  # resuming without --config: the run's own config
        out = next((o.split("=", 1)[1] for o in reversed(overrides) if o.startswith("run.out=")), None)
        if out is None:
            raise ConfigError("--resume without --config needs --out RUN (the run folder to continue)")
        saved, last = Path(out) / "config.yaml", Path(out) / "last.pt"
        if saved.exists():
            base = saved
        elif last.exists():  # config.yaml lost: last.pt carries the same config
            cfg = load_checkpoint(last).get("train_config") or {}
            apply_overrides(cfg, overrides)
            return TrainConfig.from_dict(cfg, source=str(last))
        else:
            raise ConfigError(
                f"{out}: nothing to resume (no config.yaml or last.pt); start it with --config NAME"
            )
    return load_config(base, overrides)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    summary = train(cfg, resume=args.resume, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:
        best = summary["best_mean_f1"]
        best_txt = f"best val mean F1 {100 * best:.2f}" if best is not None else "no validation"
        took = f"{summary['epochs']} epochs in {summary['seconds']:.0f} s"
        print(f"fpliif train: {took}, {best_txt}; run in {summary['run']}")
    return 0
