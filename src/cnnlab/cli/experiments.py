"""``cnnlab compare``, ``params``, ``transfer``, ``filters`` and ``activations``: the lecture's experiments.

Parsing and printing only; the work is in :mod:`cnnlab.experiments`. Each command writes a run folder
(``result.json``, ``report.md``, PNG plots) and with ``--json`` prints one JSON object as the last
line of stdout (the human-readable lines then go to stderr).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cnnlab.cli import _common as common
from cnnlab.experiments.runner import parse_names


def _ints(text: str | None, name: str) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--{name} must be comma-separated integers like 100,1000, got {text!r}") from None


def _finish(result, out: Path | None, as_json: bool, lines: list[str]) -> None:
    log = common.emit(as_json)
    for line in lines:
        log(line)
    if out is not None:
        log(f"\nreport: {out / 'report.md'}")
    if as_json:
        typer.echo(json.dumps(result.to_dict()))


def compare(
    dataset: str = typer.Option("mnist1d", "--dataset", "-d", help="mnist1d (default, embedded), digits, mnist, ..."),
    data_dir: str = typer.Option(None, "--data-dir", help="Folder with the dataset's files (mnist etc.)."),
    models: str = typer.Option(
        None,
        "--models",
        "-m",
        help="Comma-separated: logreg, mlp, cnn, cnn-small, cnn-large, "
        "any preset or spec. Default logreg,mlp,cnn (mlp with --optimizers).",
    ),
    seeds: int = typer.Option(3, help="Training runs per model (the error bars)."),
    optimizers: str = typer.Option(
        None, help="Compare optimizers on one model instead, e.g. sgd,adam,rmsprop,adagrad,adadelta."
    ),
    epochs: int = typer.Option(None, help="Epochs per run (default: 30 mnist1d, 20 digits, 2 MNIST-size)."),
    lr: float = typer.Option(None, help="Learning rate (default 1e-2; with --optimizers each one's usual rate)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Examples per step (default 100)."),
    train_subset: int = typer.Option(None, "--train-subset", help="Use only the first N training examples."),
    threads: int = typer.Option(
        None, help="CPU threads (default 1, fastest for these small models on a busy CPU; 0 = all cores)."
    ),
    translation: bool = typer.Option(
        False, "--translation", help="Also: accuracy on shifted test sets, with/without augmentation."
    ),
    data_efficiency: bool = typer.Option(
        False, "--data-efficiency", help="Also: accuracy vs number of training examples."
    ),
    equivariance: bool = typer.Option(
        False, "--equivariance", help="Also: exact invariance of the equivariant CNN vs max pooling."
    ),
    max_shift: int = typer.Option(None, "--max-shift", help="Largest test shift in pixels (default 8)."),
    augment_shift: int = typer.Option(None, "--augment-shift", help="Augmentation shift in pixels (default width/7)."),
    sizes: str = typer.Option(None, help="Training-set sizes for --data-efficiency (default 100,1000,10000,all)."),
    eval_examples: int = typer.Option(2000, "--eval-examples", help="Test examples for the shifted evaluations."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/compare-DATASET-TIME)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """DNNs vs CNNs in action: test accuracy mean ± std over seeds, parameters, training time (or optimizers)."""
    from cnnlab.experiments.compare import CompareConfig
    from cnnlab.experiments.compare import compare as run_compare

    config = CompareConfig(
        dataset=dataset,
        data_dir=data_dir,
        models=tuple(parse_names(models, "--models")) if models else (),
        seeds=seeds,
        optimizers=tuple(parse_names(optimizers, "--optimizers")) if optimizers else (),
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        train_subset=train_subset,
        threads=threads,
        translation=translation,
        data_efficiency=data_efficiency,
        equivariance=equivariance,
        max_shift=max_shift,
        augment_shift=augment_shift,
        sizes=_ints(sizes, "sizes"),
        eval_examples=eval_examples,
    ).validate()
    folder = common.run_dir(out, f"compare-{dataset}" + ("-optimizers" if optimizers else ""))
    log = common.emit(as_json)
    log(f"comparing {', '.join(config.optimizers or config.model_names)} on {dataset}, {seeds} seed(s) -> {folder}")
    result = run_compare(config, out=folder, log=log)
    lines = [""] + result.lines()
    for sub in (result.translation, result.data_efficiency, result.equivariance):
        if sub is not None:
            lines += ["", sub.markdown().split("\n\n![")[0]]
    _finish(result, folder, as_json, lines)


def params(
    model: str = typer.Argument(None, help="Preset or spec; omitted: the lecture's examples."),
    input: str = typer.Option(None, "--input", "-i", help="Input shape CxHxW (or CxW); default: the preset's."),
    classes: int = typer.Option(10, help="Outputs of a final 'linear' without a size."),
    lecture: bool = typer.Option(
        False, "--lecture", help="Also show the lecture's examples (always shown without MODEL)."
    ),
    out: Path = typer.Option(None, "--out", help="Also write result.json and report.md into this folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Tied parameters, counted: per conv layer, conv vs locally connected vs dense, and the reduction factors."""
    from cnnlab import spec as S
    from cnnlab.experiments.params import ParamsResult, lecture_cases, tied_params
    from cnnlab.experiments.report import save

    if model is None:
        result = ParamsResult("(lecture examples)", [], [], 0, lecture_cases())
    else:
        result = tied_params(model, S.parse_shape(input) if input else None, classes, lecture=lecture)
    if out is not None:
        save(result, out)
    lines = result.lines()
    if model is None or lecture:
        lines += ["", "LC/conv: what tying saves (= H_out x W_out). dense/conv: what locality and tying save together."]
    _finish(result, out, as_json, lines)


def transfer(
    source: str = typer.Option("mnist", "--source", help="Pretraining dataset (default mnist)."),
    data_dir: str = typer.Option(None, "--data-dir", help="Folder with the source dataset's files."),
    model: str = typer.Option("cnn", "--model", "-m", help="Network (default cnn)."),
    split: int = typer.Option(5, help="Pretrain on classes 0..split-1, transfer to the rest."),
    n: str = typer.Option("5,20,100,1000", "--n", help="Labelled examples per class."),
    seeds: int = typer.Option(3, help="Repetitions per point (the error bars)."),
    targets: str = typer.Option(
        "digits,fashion-mnist,kmnist",
        help="Other datasets (name or name=DIR); missing files are skipped. Empty string: none.",
    ),
    pretrain_epochs: int = typer.Option(None, "--pretrain-epochs", help="Default: the recipe's (2 on MNIST)."),
    pretrain_subset: int = typer.Option(0, "--pretrain-subset", help="Pretrain on only N examples (0 = all)."),
    lr: float = typer.Option(1e-3, help="Learning rate on the targets."),
    min_steps: int = typer.Option(150, "--min-steps", help="Optimizer steps at least, per target run."),
    eval_examples: int = typer.Option(2000, "--eval-examples", help="Target test examples."),
    threads: int = typer.Option(None, help="CPU threads (default 1; 0 = all cores)."),
    out: Path = typer.Option(None, "--out", help="Run folder (default runs/transfer-SOURCE-TIME)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Transfer learning: frozen features + new head vs fine-tuning vs scratch, against labelled examples."""
    from cnnlab.experiments.transfer import TransferConfig
    from cnnlab.experiments.transfer import transfer as run_transfer

    config = TransferConfig(
        source=source,
        data_dir=data_dir,
        model=model,
        split=split,
        n_per_class=_ints(n, "n"),
        seeds=seeds,
        targets=tuple(parse_names(targets, "--targets")) if targets.strip() else (),
        pretrain_epochs=pretrain_epochs,
        pretrain_subset=pretrain_subset,
        lr=lr,
        min_steps=min_steps,
        eval_examples=eval_examples,
        threads=threads,
    )
    if not config.n_per_class or min(config.n_per_class) < 1:
        raise ValueError(f"--n must list positive integers, got {n!r}")
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    config.validate()
    folder = common.run_dir(out, f"transfer-{source}")
    log = common.emit(as_json)
    log(f"transfer: pretraining {model} on {source} classes 0..{split - 1} -> {folder}")
    result = run_transfer(config, out=folder, log=log)
    lines = result.lines() + [""] + [f"{name}: {v}" for name in result.targets for v in result.verdicts(name)]
    _finish(result, folder, as_json, lines)


def filters(
    run: Path = typer.Argument(..., help="A run folder written by cnnlab train."),
    out: Path = typer.Option(None, "--out", help="Where the plots go (default RUN_DIR/filters)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """First-layer filters as images, their Fourier spectra and the nearest finite-difference stencil."""
    from cnnlab.experiments.filters import inspect_filters

    folder = out or Path(run) / "filters"
    result = inspect_filters(run, folder)
    _finish(result, folder, as_json, [f"layer {result.layer}"] + result.lines())


def activations(
    run: Path = typer.Argument(..., help="A run folder written by cnnlab train."),
    image: str = typer.Argument(..., help="An image file (a drawn digit) or test:N (the N-th test example)."),
    unit: str = typer.Option(
        None,
        "--unit",
        help="LAYER or LAYER:I,J whose receptive field is traced (default: centre of the last spatial layer).",
    ),
    channel: int = typer.Option(None, help="The unit's channel (default: the most active)."),
    out: Path = typer.Option(None, "--out", help="Where the plots go (default RUN_DIR/activations)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
):
    """Feature maps of every layer for one input, and a unit's receptive field traced back to the input."""
    from cnnlab.experiments.activations import inspect_activations

    folder = out or Path(run) / "activations"
    result = inspect_activations(run, image, folder, unit=unit, channel=channel)
    _finish(result, folder, as_json, result.lines())


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
    app.command("params")(params)
    app.command("transfer")(transfer)
    app.command("filters")(filters)
    app.command("activations")(activations)
