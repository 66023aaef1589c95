#!/usr/bin/env bash
# Regenerates the CUDA backend's kernel images from backend-cuda/src/main/cuda/*.cu:
#   <name>.ptx     PTX for compute_75 (JIT-compiled by any driver that runs CUDA 13 code)
#   <name>.fatbin  SASS for sm_80 and sm_90 plus the compute_75 PTX, loaded first
# The images are committed, so building Tandem does not need nvcc. .ci/run regenerates the PTX
# when nvcc is present and fails if it differs from the committed files.
#
# usage: scripts/build-cuda-kernels.sh [--ptx-only] [OUTPUT_DIR]   (default: the resources folder)
#        NVCC=/path/to/nvcc to choose the compiler (default: nvcc on PATH, then /usr/local/bin/nvcc)
set -euo pipefail
ptx_only=false
if [[ "${1:-}" == --ptx-only ]]; then ptx_only=true; shift; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/backend-cuda/src/main/cuda"
out="${1:-$root/backend-cuda/src/main/resources/dev/tandem/backend/cuda/kernels}"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/bin/nvcc)}"
[[ -x "$nvcc" ]] || { echo "nvcc not found (set NVCC)" >&2; exit 1; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Compile from inside the source folder with relative names: no absolute path enters the output.
cd "$src"
# Never --use_fast_math: the kernels must match the float32 CPU backend to 1e-5.
flags=(-std=c++17 -O3 -Xptxas -O3)
for cu in *.cu; do
  name="${cu%.cu}"
  "$nvcc" "${flags[@]}" -ptx -arch=compute_75 -o "$out/$name.ptx" "$cu"
  if $ptx_only; then echo "built $name.ptx"; continue; fi
  "$nvcc" "${flags[@]}" -fatbin \
    -gencode arch=compute_80,code=sm_80 \
    -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_75,code=compute_75 \
    -o "$out/$name.fatbin" "$cu"
  echo "built $name.ptx $name.fatbin"
done
