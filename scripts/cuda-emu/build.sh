#!/usr/bin/env bash
# Builds scripts/cuda-emu into a libcuda.so.1 that runs Tandem's CUDA kernels on the CPU:
#
#   scripts/cuda-emu/build.sh [OUT_DIR]        (default backend-cuda/target/cuda-emu)
#
# then run anything that uses the cuda backend with LD_LIBRARY_PATH=OUT_DIR (see
# scripts/cuda-emu/test.sh). Each .cu file compiles unchanged as C++ against emu.h, except that
# `extern __shared__ T name[];` becomes a pointer to the launch's dynamic shared memory; the
# kernel names and their launch bounds come from the committed PTX (.entry and .maxntid lines).
# Needs g++ (C++17).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/backend-cuda/target/cuda-emu}"
cuda="$root/backend-cuda/src/main/cuda"
ptx="$root/backend-cuda/src/main/resources/dev/tandem/backend/cuda/kernels"
CXX="${CXX:-g++}"
mkdir -p "$out/src"
cp "$cuda/common.cuh" "$out/src/"
objects=()
for cu in "$cuda"/*.cu; do
  name="$(basename "$cu" .cu)"
  src="$out/src/$name.cpp"
  # extern __shared__ arrays point at the launch's dynamic shared memory; every other __shared__
  # declaration is followed by poison_shared calls for its variables. Lines keep their numbers,
  # and messages name the .cu file.
  { echo "#line 1 \"backend-cuda/src/main/cuda/$name.cu\""; cat "$cu"; } \
    | sed -E 's/extern __shared__ (\w+) (\w+)\[\];/\1* \2 = (\1*)::emu::dynamic_shared();/' \
    | perl -pe '
      if (/^(\s*)__shared__ ((?:__align__\(\d+\) )?\w+) ([^;]*);\s*$/) {
        my ($indent, $type, $declarators) = ($1, $2, $3);
        my @names = map { /^\s*(\w+)/ ? $1 : () } split /,/, $declarators;
        $_ = "${indent}__shared__ $type $declarators;"
          . join("", map { " ::emu::poison_shared(&$_, sizeof($_));" } @names) . "\n";
      }' > "$src"
  {
    echo
    echo '#include "registry.h"'
    # Each .entry with its .maxntid (threads a block may have: __launch_bounds__), 1024 without.
    awk '
      function emit() {
        if (k != "") printf "static emu::Registration reg_%s(\"%s\", &%s, %d);\n", k, k, k, max
      }
      /^\.visible \.entry / { emit(); k = $3; sub(/\(.*/, "", k); max = 1024 }
      /^\.maxntid / { gsub(/,/, ""); max = $2 * $3 * $4 }
      END { emit() }' "$ptx/$name.ptx"
  } >> "$src"
  objects+=("$out/src/$name.o")
  # As sm_90 (the device it reports): the TF32 kernel's body is compiled, against mma.h here.
  # Misaligned loads and stores fail the launch (runtime.cpp), as on a GPU.
  "$CXX" -std=c++17 -O2 -fPIC -w -fsanitize=alignment -D__CUDA_ARCH__=900 \
    -include "$here/emu.h" -I "$here" -c "$src" -o "$out/src/$name.o" &
done
for file in runtime driver; do
  objects+=("$out/src/$file.o")
  "$CXX" -std=c++17 -O2 -fPIC -Wall -U_FORTIFY_SOURCE -I "$here" -c "$here/$file.cpp" -o "$out/src/$file.o" &
done
wait
"$CXX" -shared -o "$out/libcuda.so.1" -Wl,-soname,libcuda.so.1 "${objects[@]}"
echo "$out/libcuda.so.1: $(grep -c 'emu::Registration' "$out"/src/*.cpp | awk -F: '{s += $2} END {print s}') kernels"
