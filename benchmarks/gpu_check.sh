#!/usr/bin/env bash
# One script that proves cnnlab's GPU path on the machine it runs on, and prints one table.
#
#   bash benchmarks/gpu_check.sh                      # a CUDA GPU: full size, about 3-5 minutes
#   DEVICE=cpu QUICK=1 bash benchmarks/gpu_check.sh   # the same checks on the CPU at reduced size (CI)
#
# Checks (each a row): versions and compute capability; `cnnlab train --recipe fast` with amp
# off/bf16/fp16 (accuracy, training time, ratio to the same recipe on the CPU in the same run);
# benchmarks/mnist_time_to_accuracy.py; run == run and resume == run with --deterministic; DDP with
# one process under torchrun (NCCL on a GPU) including resume; export of the trained run to ONNX and
# TorchScript, compared with the model on the device; inputs and models on different devices;
# `cnnlab compare --equivariance`; the Ising row of benchmarks/ising_flips.py.
#
# Environment: DEVICE (cuda | cpu; default cuda), QUICK (1 = reduced size), DATA_DIR (MNIST's IDX
# files; default ../shared/data/mnist beside the repository, else the embedded digits), WORK (a
# folder for the runs; default a temporary one, removed), JSON (write the table as JSON to this
# file), STRICT (1 = a missed speed target fails too), PYTHON (default python3).
# Exit status: 0 when every check passed, 1 when one failed, 2 for a usage mistake.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" benchmarks/gpu_check.py "$@"
