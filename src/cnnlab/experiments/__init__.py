"""Experiments that answer the lecture, each a Python function and a CLI command.

Each returns a result dataclass (``to_dict()`` for JSON, ``markdown()`` for the report) and, given a
run folder, writes ``result.json``, ``report.md`` and PNG plots there.

============================================  ==================================================
function                                      question
============================================  ==================================================
:func:`compare`                               DNN vs CNN (or optimizers): accuracy ± std, params, time
:func:`translation_robustness`                accuracy on shifted test sets, with/without augmentation
:func:`equivariance`                          exact invariance by design, and how max pooling breaks it
:func:`data_efficiency`                       accuracy vs number of training examples
:func:`tied_params`                           conv vs locally connected vs dense parameters
:func:`transfer`                              frozen features / fine-tuning / scratch vs labelled examples
:func:`inspect_filters`                       first-layer filters, spectra, nearest finite-difference stencil
:func:`inspect_activations`                   feature maps of every layer, a unit's receptive field
============================================  ==================================================
"""

from cnnlab.experiments.activations import ActivationsResult, inspect_activations
from cnnlab.experiments.compare import CompareConfig, CompareResult, compare
from cnnlab.experiments.efficiency import EfficiencyResult, data_efficiency
from cnnlab.experiments.filters import FiltersResult, inspect_filters, nearest_stencil
from cnnlab.experiments.invariance import EquivarianceResult, TranslationResult, equivariance, translation_robustness
from cnnlab.experiments.params import ParamsResult, lecture_cases, tied_params
from cnnlab.experiments.transfer import TransferConfig, TransferResult, transfer

__all__ = [
    "ActivationsResult",
    "CompareConfig",
    "CompareResult",
    "EfficiencyResult",
    "EquivarianceResult",
    "FiltersResult",
    "ParamsResult",
    "TransferConfig",
    "TransferResult",
    "TranslationResult",
    "compare",
    "data_efficiency",
    "equivariance",
    "inspect_activations",
    "inspect_filters",
    "lecture_cases",
    "nearest_stencil",
    "tied_params",
    "transfer",
    "translation_robustness",
]
