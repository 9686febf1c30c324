"""What a notebook's parameters name: its data, its training runs and their evaluations.

    study = Study.from_namespace(globals())   # in a notebook, after its parameters cell
    run = study.main_run()                     # ensures the data and the main run
    result = study.main_eval()                 # ... and its evaluation

A notebook declares the parameters it uses (``fpliif.runs.profiles.PARAMS``); a ``Study`` method
that needs one the notebook did not declare says so (``ParameterError``) instead of guessing. Runs
are named after their role: ``main`` (the main run), ``main-<peer>`` (the light peer trained like
it), ``celeb``/``celeb-seed<s>``, ``helen``/``helen-seed<s>``, and the comparison group
``group-base``, ``group-ew<lambda>``, ``group-<ablation>``, ``group-seed<s>``: every group run
shares one budget (``group_config`` + ``group_overrides``) so that comparisons within a table are
fair, and a run needed by two tables (the base run: lambda = 40, instance norm, seed 0) is trained
once. The tables made from them are ``fpliif.tables``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.config import load_config
from ..errors import ConfigError, FpliifError
from .data_refs import DataRef, DataRefs
from .paths import Log, rel, resolve, say
from .profiles import PARAMS
from .records import ensure_bench, ensure_eval, eval_folder
from .training import Run, RunSpec, ensure_run

if TYPE_CHECKING:
    from ..engine.evaluate import EvalResult


class ParameterError(FpliifError):
    """A notebook did not declare a parameter that what it asked for needs."""


# The section 5.1 variants of the comparison group, as the tables name them.
ABLATION_LABELS = {
    "base": "ResBlock + instance norm (the paper's model)",
    "bn": "ResBlock + batch norm",
    "nonorm": "ResBlock without norm (old EDSR)",
    "unet": "U-Net decoder instead of LIIF",
    "noens": "LIIF without the local ensemble",
}


def model_overrides(base_model: str, options: Mapping[str, Any]) -> list[str]:
    """Overrides that turn ``base_model`` into the variant with ``options`` (a registered ablation
    name such as ``fpliif-bn`` when there is one, ``model.options.*`` otherwise)."""
    from ..models import variant_name

    opts = dict(options or {})
    if not opts:
        return []
    if base_model == "fpliif" and (name := variant_name(opts)):
        return [f"model.name={name}"]
    return [f"model.options.{k}={json.dumps(v)}" for k, v in opts.items()]


def override_list(value: Any) -> list[str]:
    """Training-config overrides from a parameter: a mapping {"optim.epochs": 1} (YAML-friendly,
    what the profiles use) or a list of "optim.epochs=1" strings."""
    if not value:
        return []
    if isinstance(value, Mapping):
        return [f"{k}={json.dumps(v)}" for k, v in value.items()]
    if isinstance(value, str) or not all(isinstance(v, str) and "=" in v for v in value):
        raise ConfigError(f"overrides must be a mapping of SECTION.KEY to values, got {value!r}")
    return list(value)


class Study:
    """The data, runs and evaluations of one set of notebook parameters (each made once)."""

    def __init__(self, params: Mapping[str, Any], *, log: Log = say, dry: bool = False) -> None:
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}")
        self.p = dict(params)
        if self.p.get("eval_dtype") == "auto":  # resolved once: record names carry the dtype
            from ..engine.distributed import resolve_device
            from ..precision import pick_dtype

            device = resolve_device("auto") if self.device == "auto" else self.device
            self.p["eval_dtype"] = pick_dtype("auto", device)
        self.log = log
        self.dry = dry  # plan only: make nothing
        self.data = DataRefs(self.need, self.path, self.out, dry=dry, log=log)
        self._runs: dict[str, Run] = {}
        self._evals: dict[tuple, EvalResult] = {}

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any], **kw: Any) -> Study:
        """A Study of the parameters defined in ``namespace`` (a notebook's ``globals()``)."""
        return cls({k: v for k, v in namespace.items() if k in PARAMS and not k.startswith("_")}, **kw)

    # -- parameters and folders ----------------------------------------------------------------
    def need(self, *keys: str) -> list[Any]:
        missing = [k for k in keys if k not in self.p]
        if missing:
            raise ParameterError(
                f"parameter(s) {missing} are needed here but the notebook's parameters cell lacks them"
            )
        return [self.p[k] for k in keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self.p.get(key, default)

    @property
    def profile(self) -> str:
        return str(self.p.get("profile") or "custom")

    @property
    def out(self) -> Path:
        return resolve(self.p.get("out") or f"results/{self.profile}")

    def path(self, value: str | Path) -> Path:
        return resolve(value, self.out)

    @property
    def tables_dir(self) -> Path:
        return self.out / "tables"

    @property
    def figures_dir(self) -> Path:
        return self.out / "figures"

    @property
    def device(self) -> str:
        return str(self.p.get("device") or "auto")

    def main_is_celebamask(self) -> bool:
        """Whether the main run trains on CelebAMask-HQ (the real profile) instead of the LaPa
        layout: then the group's seed runs are Table 7's CelebAMask-HQ row (no celeb seed runs)."""
        return self.data.main().name == "celebamask-hq"

    # -- run specs ---------------------------------------------------------------------------------
    def _base_overrides(self, data: DataRef) -> list[str]:
        over = [f"data.name={data.name}", f"data.root={data.root}"]
        if self.p.get("device") not in (None, "auto"):
            over.append(f"run.device={self.p['device']}")
        return over

    def _nproc(self) -> int:
        return int(self.p.get("nproc") or 1)

    def main_spec(self) -> RunSpec:
        keys = (
            "train_config",
            "train_overrides",
            "epochs",
            "batch_size",
            "edge_weight",
            "norm",
            "decoder",
            "seed",
        )
        config, extra, epochs, batch, ew, norm, decoder, seed = self.need(*keys)
        over = self._base_overrides(self.data.main())
        for key, value in (
            ("optim.epochs", epochs),
            ("optim.batch_size", batch),
            ("optim.edge_weight", ew),
            ("run.seed", seed),
        ):
            if value is not None:
                over.append(f"{key}={value}")
        opts = {}
        if norm not in (None, "instance"):
            opts["norm"] = norm
        if decoder not in (None, "liif"):
            opts["decoder"] = decoder
        over += model_overrides(load_config(config).model.name, opts)
        over += override_list(extra)
        return RunSpec("main", config, tuple(over), "main run", self._nproc())

    def baseline_spec(self, kind: str = "lapa") -> RunSpec | None:
        """The light peer (``baseline_model``) trained exactly like the main (or the first
        CelebAMask-HQ) run: Table 9's row and the baseline of Figures 10 and 11."""
        (model,) = self.need("baseline_model")
        if not model:
            return None
        base = self.main_spec() if kind == "lapa" else self.celeb_spec()
        if base is None:
            return None
        over = (*base.overrides, f"model.name={model}", "model.options={}")
        return RunSpec(
            f"{base.name}-{model}", base.config, over, f"{model}, trained like run {base.name}", base.nproc
        )

    def _seeded(
        self, prefix: str, config_key: str, over_key: str, seeds_key: str, data: DataRef | None, seed=None
    ) -> RunSpec | None:
        config, extra, seeds = self.need(config_key, over_key, seeds_key)
        if data is None or not seeds:
            return None
        seed = seeds[0] if seed is None else seed
        name = prefix if seed == seeds[0] else f"{prefix}-seed{seed}"
        over = (*self._base_overrides(data), f"run.seed={seed}", *override_list(extra))
        return RunSpec(name, config, over, f"{prefix} run, seed {seed}", self._nproc())

    def celeb_spec(self, seed: int | None = None) -> RunSpec | None:
        return self._seeded(
            "celeb", "celeb_config", "celeb_overrides", "celeb_seeds", self.data.celeb(), seed
        )

    def helen_spec(self, seed: int | None = None) -> RunSpec | None:
        return self._seeded(
            "helen", "helen_config", "helen_overrides", "helen_seeds", self.data.helen(), seed
        )

    def group_base(self) -> tuple[RunSpec, Any]:
        """The group's base run (the preset's lambda, instance norm and seed) and its config."""
        config, extra = self.need("group_config", "group_overrides")
        over = (*self._base_overrides(self.data.group()), *override_list(extra))
        cfg = load_config(config, list(over))
        label = f"base (λ={cfg.optim.edge_weight:g}, {ABLATION_LABELS['base']}, seed {cfg.run.seed})"
        return RunSpec("group-base", config, over, label, self._nproc()), cfg

    def group_spec(self, kind: str, value: Any) -> RunSpec:
        """A group run: ``("ew", lambda)``, ``("ablation", name)`` or ``("seed", s)``."""
        base, cfg = self.group_base()
        if kind == "ew":
            if float(value) == cfg.optim.edge_weight:
                return base
            over = (*base.overrides, f"optim.edge_weight={value}")
            return RunSpec(f"group-ew{value:g}", base.config, over, f"λ={value:g}", base.nproc)
        if kind == "seed":
            if int(value) == cfg.run.seed:
                return base
            over = (*base.overrides, f"run.seed={value}")
            return RunSpec(f"group-seed{value}", base.config, over, f"seed {value}", base.nproc)
        if kind == "ablation":
            (ablations,) = self.need("ablations")
            opts = (ablations or {})[value]
            over = (*base.overrides, *model_overrides(cfg.model.name, opts))
            return RunSpec(f"group-{value}", base.config, over, ABLATION_LABELS.get(value, value), base.nproc)
        raise ValueError(f"group run kind must be ew, seed or ablation, got {kind!r}")

    # -- runs, evaluations, bench records ----------------------------------------------------------
    def run(self, spec: RunSpec, *, records_only: bool = False) -> Run:
        """``spec``'s finished run (``ensure_run``); ``records_only``: its committed records are
        enough (a clone's), so it is not retrained only to have its checkpoint here."""
        cached = self._runs.get(spec.name)
        if cached is None or (cached.status == "recorded" and not records_only):
            self._runs[spec.name] = ensure_run(
                spec.name,
                spec.config,
                spec.overrides,
                self.out,
                nproc=spec.nproc,
                label=spec.label,
                records_only=records_only,
                log=self.log,
            )
        return self._runs[spec.name]

    def evaluate(self, run: Run, sizes: Sequence[int], score_size: int) -> EvalResult:
        """``run`` scored on the test split (``eval_dtype``, ``eval_batch``): an ``EvalResult``."""
        dtype, batch = self.need("eval_dtype", "eval_batch")
        key = (run.name, tuple(sorted(set(sizes))), score_size)
        if key not in self._evals:
            self._evals[key] = ensure_eval(
                run,
                sizes=sizes,
                score_size=score_size,
                dtype=dtype,
                batch_size=batch,
                device=self.device,
                log=self.log,
            )
        return self._evals[key]

    def main_run(self) -> Run:
        return self.run(self.main_spec())

    def main_eval(self) -> EvalResult:
        (sizes,) = self.need("eval_sizes")
        return self.evaluate(self.main_run(), sizes, 256)

    def baseline_eval(self, kind: str = "lapa") -> EvalResult | None:
        spec = self.baseline_spec(kind)
        return None if spec is None else self.evaluate(self.run(spec), [256], 256)

    def celeb_eval(self, seed: int | None = None) -> EvalResult | None:
        spec = self.celeb_spec(seed)
        if spec is None:
            return None
        (sizes,) = self.need("eval_sizes")
        return self.evaluate(self.run(spec), sizes if seed is None else [256], 256)

    def helen_eval(self, seed: int | None = None) -> EvalResult | None:
        spec = self.helen_spec(seed)
        return None if spec is None else self.evaluate(self.run(spec), [256], 256)

    def group_eval(self, spec: RunSpec) -> EvalResult:
        """A group run scored at ``group_eval_size``: from its records where they hold that score
        (the group's tables need nothing else of it), else from its checkpoint."""
        (size, dtype) = self.need("group_eval_size", "eval_dtype")
        run = self.run(spec, records_only=True)
        if (
            run.status == "recorded"
            and not (eval_folder(run, "test", [size], size, dtype) / "results.json").is_file()
        ):
            run = self.run(spec)
        return self.evaluate(run, [size], size)

    def bench_args(self) -> list[str]:
        """``bench_args`` with the main run's placeholders (``MAIN_PLACEHOLDERS``) filled in, which
        trains the main run first (left as they are in a dry run)."""
        (args,) = self.need("bench_args")
        args = [str(a) for a in args or []]
        if not self.dry and any(key in a for a in args for key in MAIN_PLACEHOLDERS):
            ref, checkpoint = self.data.main(), self.main_run().checkpoint
            args = bench_arguments(args, checkpoint=checkpoint, data=ref.name, root=ref.root)
        return args

    def bench(self) -> list[dict[str, Any]]:
        """The ``fpliif bench`` records of ``bench_args()`` (none in a dry run)."""
        if self.dry:
            self.need("bench_args")
            return []
        return ensure_bench(self.out / "bench", self.bench_args(), log=self.log)


# ``bench_args`` may name the main run's weights and test data (the bench's adaptive rows on a
# trained model); paths are written relative to the repository, so stored records stay reusable.
MAIN_PLACEHOLDERS = ("{main_checkpoint}", "{main_data}", "{main_root}")


def bench_arguments(args: Sequence[str], *, checkpoint: str | Path, data: str, root: str | Path) -> list[str]:
    """``args`` with ``MAIN_PLACEHOLDERS`` replaced by the main run's checkpoint, dataset name and root."""
    values = dict(zip(MAIN_PLACEHOLDERS, (rel(checkpoint), data, rel(root)), strict=True))
    out = []
    for a in args:
        for key, value in values.items():
            a = a.replace(key, value)
        out.append(a)
    return out


__all__ = [
    "ABLATION_LABELS",
    "MAIN_PLACEHOLDERS",
    "ParameterError",
    "Study",
    "bench_arguments",
    "model_overrides",
    "override_list",
]
