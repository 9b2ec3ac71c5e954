"""``cnnlab train``, ``evaluate``, ``predict``, ``demo`` and ``datasets``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import typer

from cnnlab.cli import _common as common
from cnnlab.io import make_folder
from cnnlab.model import Model
from cnnlab.spec.presets import RECIPES
from cnnlab.train import TrainConfig, distributed, fit
from cnnlab.train.config import OPTIMIZERS, SCHEDULES
from cnnlab.train.launcher import LAUNCHER_ENV, watch_launcher
from cnnlab.train.recipes import config_for
from cnnlab.train.runs import prepare_run_folder


def train(
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="Preset (cnnlab presets) or spec text. Default: cnn (the course's CNN; fits every dataset). A preset with a recipe (fast, fast995) trains with it.",
    ),
    dataset: str = typer.Option(
        None,
        "--dataset",
        "-d",
        help="digits, mnist1d, mnist, fashion-mnist, kmnist, cifar10, folder:PATH, ising:PATH. Default: digits.",
    ),
    data_dir: str = typer.Option(None, "--data-dir", help="Folder with the dataset's standard files (offline)."),
    epochs: int = typer.Option(None, help="Epochs (default 5)."),
    batch_size: int = typer.Option(
        None, "--batch-size", help="Examples per step (default 64); with --nproc, the global batch."
    ),
    optimizer: str = typer.Option(None, help=f"{' | '.join(OPTIMIZERS)} (default adam)."),
    lr: float = typer.Option(None, help="Learning rate (default: the optimizer's usual one)."),
    schedule: str = typer.Option(None, help=f"{' | '.join(SCHEDULES)} (default none)."),
    weight_decay: float = typer.Option(None, "--weight-decay"),
    label_smoothing: float = typer.Option(None, "--label-smoothing"),
    augment_shift: int = typer.Option(None, "--augment-shift", help="Random translation by up to N pixels."),
    val_split: float = typer.Option(None, "--val-split", help="Fraction of training data held out for validation."),
    early_stopping: int = typer.Option(None, "--early-stopping", help="Patience in epochs (needs --val-split)."),
    seed: int = typer.Option(None, help="Random seed (default 0)."),
    threads: int = typer.Option(None, help="CPU threads (0 = torch default)."),
    device: str = typer.Option(None, help="auto | cpu | cuda."),
    amp: str = typer.Option(
        None,
        "--amp",
        help="Mixed precision: auto | off | bf16 | fp16 (default auto: bf16 on GPUs with native bfloat16 "
        "(A100, H100, RTX 30xx+), fp16 on older ones (T4, V100), off on CPU).",
    ),
    deterministic: bool = typer.Option(
        None,
        "--deterministic/--no-deterministic",
        help="Deterministic cuDNN/cuBLAS kernels: CUDA runs and resumes repeat bit for bit, somewhat slower "
        "(default off; CPU runs are deterministic anyway).",
    ),
    channels_last: bool = typer.Option(
        None, "--channels-last/--no-channels-last", help="NHWC memory layout for 2-D convs."
    ),
    nproc: int = typer.Option(
        1,
        "--nproc",
        help="Data-parallel processes on this machine (DistributedDataParallel: gloo on CPU, one GPU each with NCCL); --batch-size stays the global batch.",
    ),
    config: Path = typer.Option(
        None, "--config", help="JSON or TOML file of config fields; options given here override it."
    ),
    recipe: str = typer.Option(
        None,
        "--recipe",
        help=f"Start from a tuned recipe: {', '.join(RECIPES)} (cnnlab presets). A preset that carries a recipe "
        "(--model fast) brings it along.",
    ),
    out: Path = typer.Option(
        None, "--out", help="Run folder (default runs/MODEL-DATASET-TIME); a new or empty folder, unless --overwrite."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace the run already in --out (its files are removed first)."
    ),
    resume: Path = typer.Option(None, "--resume", help="Continue an interrupted run from its folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Train a network; writes config.json, metrics.jsonl, model.safetensors, checkpoints and a learning curve."""
    watch_launcher()  # a process of --nproc N: die with the launcher
    overrides = {
        k: v
        for k, v in dict(
            model=model,
            dataset=dataset,
            data_dir=data_dir,
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            lr=lr,
            schedule=schedule,
            weight_decay=weight_decay,
            label_smoothing=label_smoothing,
            augment_shift=augment_shift,
            val_split=val_split,
            early_stopping=early_stopping,
            seed=seed,
            threads=threads,
            device=device,
            amp=amp,
            deterministic=deterministic,
            channels_last=channels_last,
        ).items()
        if v is not None
    }
    if resume is not None:
        from cnnlab.train.runs import read_run_config, train_config

        if overwrite:
            raise ValueError("give either --resume (continue the run) or --overwrite (replace it), not both")
        base = train_config(read_run_config(resume))
        if overrides.keys() - {"epochs", "threads", "device", "data_dir"}:
            raise ValueError(
                "--resume continues a run as configured; only --epochs, --threads, --device and "
                f"--data-dir may change, got {', '.join(sorted(overrides))}"
            )
        cfg = base.replace(**overrides)
        out = resume
    elif config is not None:
        if recipe is not None:
            raise ValueError("give either --config or --recipe, not both")
        cfg = TrainConfig.from_file(config, **overrides)
    else:
        cfg = config_for(overrides, recipe)
    cfg.validate()
    rank = distributed.env_context()
    if rank.enabled and out is None:
        raise ValueError("--out is required under torchrun: every process must name the same run folder")
    folder = common.run_dir(out, f"{cfg.model}-{cfg.dataset}")
    if nproc != 1:
        raise SystemExit(_launch(cfg, folder, resume, overwrite, overrides, nproc, as_json))
    if resume is None and rank.is_main and LAUNCHER_ENV not in os.environ:
        prepare_run_folder(folder, overwrite)  # (under --nproc the launcher did it, before the processes started)
    log = common.emit(as_json) if rank.is_main else (lambda line: None)
    log(f"training {cfg.model} on {cfg.dataset} -> {folder}")
    history = fit(cfg, out=folder, resume=resume, log=log)
    final = history.final
    log(
        f"test accuracy {final['test_accuracy']:.4f}  loss {final['test_loss']:.4f}  "
        f"{final['params']:,} params  {final['train_seconds']:.1f}s training  run folder {folder}"
    )
    if as_json and rank.is_main:
        typer.echo(json.dumps(final))


def _launch(
    cfg: TrainConfig, folder: Path, resume: Path | None, overwrite: bool, overrides: dict, nproc: int, as_json: bool
) -> int:
    """``cnnlab train --nproc N``: the same training in N processes (:mod:`cnnlab.train.launcher`).

    Everything that can be checked is checked here, once, before any process starts: devices, the
    batch split, the dataset (loaded once), the network against the data and the memory estimate,
    and the run folder (created now, so an unwritable path is one error, not N). The processes read
    the resolved config (or resume the run folder), so recipes and defaults cannot differ between them.
    """
    import tempfile

    from cnnlab.data import load_dataset
    from cnnlab.train.device import pick_device
    from cnnlab.train.preflight import check_fits, train_size

    distributed.check_launch(nproc)
    distributed.check_devices(nproc, pick_device(cfg.device))
    distributed.check_batch_size(cfg.batch_size, nproc)
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir)
    n_train = train_size(cfg, len(data.y_train))
    distributed.check_last_batch(n_train, cfg.batch_size, nproc)
    check_fits(cfg, data.input_shape, data.num_classes, n_train, len(data.y_test))
    del data  # each process loads its own copy
    command = ["-m", "cnnlab.cli.main", "train"] + (["--json"] if as_json else [])
    if resume is not None:
        flags = {"epochs": "--epochs", "threads": "--threads", "device": "--device", "data_dir": "--data-dir"}
        command += ["--resume", str(resume)] + [a for k, v in overrides.items() for a in (flags[k], str(v))]
        return distributed.launch(command, nproc)
    prepare_run_folder(folder, overwrite, create=True)
    with tempfile.TemporaryDirectory(prefix="cnnlab-launch-") as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(cfg.to_dict()))
        return distributed.launch(command + ["--config", str(path), "--out", str(folder)], nproc)


def evaluate(
    run_dir: Path = typer.Argument(..., help="A run folder written by cnnlab train."),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Dataset to evaluate on (default: the run's)."),
    data_dir: str = typer.Option(None, "--data-dir", help="Folder with the dataset's standard files."),
    out: Path = typer.Option(None, "--out", help="Where the plots go (default RUN_DIR/evaluation)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Accuracy, loss, per-class accuracy, confusion-matrix PNG and most confidently wrong examples PNG."""
    from cnnlab.data import load_dataset
    from cnnlab.evaluate import evaluate_model

    model = Model.from_run(run_dir)
    name = dataset or model.config.get("dataset", "digits")
    data = load_dataset(name, data_dir=data_dir or (model.config.get("data_dir") if dataset is None else None))
    result = evaluate_model(model, data.x_test, data.y_test, out or Path(run_dir) / "evaluation")
    if as_json:
        typer.echo(json.dumps(result | {"dataset": name, "run_dir": str(run_dir)}))
        return
    typer.echo(
        f"{name} test set: accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}  ({result['examples']} examples)"
    )
    typer.echo("per class: " + "  ".join(f"{c}:{a:.3f}" for c, a in result["per_class_accuracy"].items()))
    for plot in result.get("plots", []):
        typer.echo(f"wrote {plot}")


MAX_IMAGES = 10_000  # images per predict call (each is decoded and kept for the report)


def predict(
    run_dir: Path = typer.Argument(..., help="A run folder written by cnnlab train."),
    images: list[Path] = typer.Argument(..., help="Image files (PNG, JPEG, ...): digits drawn in any paint program."),
    show: Path = typer.Option(
        None, "--show", help="Write PNGs of each preprocessed input beside its prediction into this folder."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Top-3 classes with probabilities, after MNIST-style preprocessing of each image."""
    import torch

    from cnnlab.data import load_image

    if show is not None and show.exists() and not show.is_dir():
        raise ValueError(f"--show must be a folder (one PNG per image is written into it), got the file {show}")
    if len(images) > MAX_IMAGES:
        raise ValueError(f"predict takes at most {MAX_IMAGES:,} images per call, got {len(images):,}")
    model = Model.from_run(run_dir)
    if model.input_shape != (1, 28, 28):
        raise ValueError(f"predict works on 28x28 grey digits; this run's input is {model.input_shape}")
    results: list[dict[str, Any]] = []
    for path in images:
        pixels = load_image(path)
        prob = model.predict_proba(torch.as_tensor(pixels).view(1, 1, 28, 28))[0]
        top = prob.topk(min(3, len(prob)))
        results.append(
            {
                "image": str(path),
                "top": [
                    {"class": model.classes[int(i)], "probability": float(p)} for p, i in zip(top.values, top.indices)
                ],
            }
        )
        if show is not None:
            from cnnlab import plots

            make_folder(show)
            caption = ", ".join(f"{t['class']} {t['probability']:.2f}" for t in results[-1]["top"])
            results[-1]["show"] = str(
                plots.image_grid([pixels], [caption], show / f"{Path(path).stem}-prediction.png", columns=1)
            )
    if as_json:
        typer.echo(json.dumps({"run_dir": str(run_dir), "predictions": results}))
        return
    for r in results:
        typer.echo(f"{r['image']}: " + "  ".join(f"{t['class']} ({t['probability']:.1%})" for t in r["top"]))


def datasets(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """List the datasets cnnlab knows."""
    from cnnlab.data import DATASETS

    if as_json:
        typer.echo(json.dumps(DATASETS))
        return
    for name, description in DATASETS.items():
        typer.echo(f"{name:<15} {description}")


def demo(
    dataset: str = typer.Option(
        "mnist1d", "--dataset", "-d", help="mnist1d or digits (embedded, no download), or mnist."
    ),
    data_dir: str = typer.Option(None, "--data-dir", help="Folder with the dataset's files (for mnist etc.)."),
    epochs: int = typer.Option(None, help="Epochs per model (default: chosen per dataset)."),
    out: Path = typer.Option(None, "--out", help="Folder for the two run folders (default runs/demo-TIME)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace runs already in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """DNN vs CNN in action: train the course's dense network and a CNN, side by side."""
    from cnnlab.data import load_dataset
    from cnnlab.train.demo import demo_plan

    if epochs is not None and epochs < 1:
        raise ValueError(f"--epochs must be an integer >= 1, got {epochs}")
    data = load_dataset(dataset, data_dir=data_dir)
    base = common.run_dir(out, "demo")
    plan = demo_plan(data, epochs)
    if base.exists() and not base.is_dir():
        raise ValueError(f"--out {base} is a file; the demo needs a folder for its two runs")
    for label, _ in plan:
        prepare_run_folder(base / label, overwrite)
    log = common.emit(as_json)
    rows = []
    for label, cfg in plan:
        log(f"\n== {label}: {cfg.model} on {data.name} ({cfg.epochs} epochs) ==")
        started = time.perf_counter()
        history = fit(cfg, dataset=data, out=base / label, log=log)
        rows.append(history.final | {"name": label, "seconds": time.perf_counter() - started})
    if as_json:
        typer.echo(json.dumps({"dataset": data.name, "runs": rows}))
        return
    typer.echo(f"\n{'network':<6} {'test accuracy':>14} {'parameters':>11} {'seconds':>8}  spec")
    for r in rows:
        typer.echo(f"{r['name']:<6} {r['test_accuracy']:>14.4f} {r['params']:>11,} {r['seconds']:>8.1f}  {r['model']}")
    typer.echo(f"\nrun folders: {base}/  (learning_curve.png, metrics.jsonl, model.safetensors)")
    typer.echo(
        "next: real MNIST  cnnlab demo --dataset mnist --data-dir DIR   |   "
        "the visualiser  cnnlab serve   |   a network's anatomy  cnnlab summary lenet"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("predict")(predict)
    app.command("datasets")(datasets)
