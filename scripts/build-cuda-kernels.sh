#!/usr/bin/env bash
# Regenerates the CUDA backend's kernel images from backend-cuda/src/main/cuda/*.cu:
#   <name>.ptx     PTX for compute_75 (JIT-compiled by any driver that runs CUDA 13 code)
#   <name>.fatbin  SASS for sm_80 and sm_90 plus the compute_75 PTX, loaded first
# The images are committed, so building Tandem does not need nvcc. .ci/run regenerates them when
# nvcc is present and fails if they differ from the committed files (nvcc's output is
# deterministic). A kernel whose sm_80 or sm_90 code spills registers to local memory fails the
# build: on a GPU that is a silent slowdown, here it is a compile error naming the kernel.
#
# usage: scripts/build-cuda-kernels.sh [OUTPUT_DIR]   (default: the resources folder)
#        NVCC=/path/to/nvcc to choose the compiler (default: nvcc on PATH, then /usr/local/bin/nvcc)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/backend-cuda/src/main/cuda"
out="${1:-$root/backend-cuda/src/main/resources/dev/tandem/backend/cuda/kernels}"
nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/bin/nvcc)}"
[[ -x "$nvcc" ]] || { echo "nvcc not found (set NVCC)" >&2; exit 1; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
spill_check="$(mktemp -d)"
trap 'rm -rf "$spill_check"' EXIT
# Compile from inside the source folder with relative names: no absolute path enters the output.
cd "$src"
# Never --use_fast_math: the kernels must match the float32 CPU backend to 1e-5.
flags=(-std=c++17 -O3 -Xptxas -O3)
for cu in *.cu; do
  name="${cu%.cu}"
  "$nvcc" "${flags[@]}" -ptx -arch=compute_75 -o "$out/$name.ptx" "$cu"
  "$nvcc" "${flags[@]}" -fatbin \
    -gencode arch=compute_80,code=sm_80 \
    -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_75,code=compute_75 \
    -o "$out/$name.fatbin" "$cu"
  for sm in 80 90; do
    "$nvcc" "${flags[@]}" -Xptxas --warn-on-spills,--warning-as-error -cubin -arch="sm_$sm" \
      -o "$spill_check/$name.sm_$sm.cubin" "$cu"
  done
  echo "built $name.ptx $name.fatbin"
done
