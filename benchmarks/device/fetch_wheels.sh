#!/usr/bin/env bash
# Downloads, into .whl/ (git-ignored), the wheels Scout needs beyond what the H200 image already
# has (torch, torchvision, pillow, numpy, timm, typer, rich, safetensors, huggingface-hub, pyyaml,
# scipy, pandas, pyarrow, tokenizers, transformers...), for Python 3.12 on x86-64 Linux.
# Run it where pip reaches PyPI, then carry .whl to the GPU machine (README.md here).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
WHEELS=(
  open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth==0.9.4          # the model
  faiss-cpu==1.15.1                                          # the vector index
  sqlite-utils==4.2.1 sqlite-fts4==1.0.3 click-default-group==1.2.4   # the catalog
  pyexiv2==2.16.0 ImageHash==4.3.2 PyWavelets==1.9.0         # the metadata and perceptual passes
  pillow_heif==1.8.1                                         # HEIC decode (optional in decode.py)
  pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
)
"$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
du -sh .whl
