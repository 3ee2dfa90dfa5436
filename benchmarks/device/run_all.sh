#!/usr/bin/env bash
# The GPU benchmarks of issue #12 in one go: synthetic 12 MP camera JPEGs (or --folder DIR),
# fidelity (bf16/TF32 vs fp32, device decode vs CPU decode), the DataLoader peer, the naive loop,
# and scout index across engines, workers, GPU decode and precision, with the ratios.
#   benchmarks/device/run_all.sh [--smoke] [--folder DIR] [--count N] [--model SPEC] [--only fidelity,peers,scout]
# See benchmarks/device/README.md for what to carry to a bare GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
exec "$PYTHON" -m benchmarks.device.compare "$@"
