#!/usr/bin/env bash
# Runs the cuda backend's tests on the CPU, through the CUDA emulator (scripts/cuda-emu): the real
# kernel sources and the real Java backend (JCuda, launches, graphs, swap through "pinned" memory),
# with libcuda.so.1 replaced. It checks what the kernels and the launches compute, not speed and
# not what only a GPU shows (memory-model races across blocks, register limits, static shared
# memory, nvcc's code); scripts/gpu-check.sh on an NVIDIA machine remains the real test.
#
#   scripts/cuda-emu/test.sh [MAVEN_ARGS...]
#
# Runs backend-cuda's tests and core's cuda tests (backend conformance and scenarios against the
# cpu backend, device sampling, fixtures, tiny families, paged cache operations, multi-step
# decoding, beam search against HuggingFace through the engine); the fixture parity and
# multi-step decoding again with -Dtandem.cuda.graphs=true; the kernel tests again with the plain
# SGEMM tiles and the lane-per-key decode attention; and the
# kernel and sampling tests twice more, with the threads scheduled in reverse order and warp by
# warp (CUDA_EMU_ORDER=reverse, warps: a missing __syncthreads shows in one of the three orders; see
# runtime.cpp). No other test. Needs g++.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
if [[ "$(uname -m)" != x86_64 ]]; then
  echo "cuda-emu: skipped: its context switch is written for x86-64, this is $(uname -m)"
  exit 0
fi
emu="$root/backend-cuda/target/cuda-emu"
scripts/cuda-emu/build.sh "$emu"
export LD_LIBRARY_PATH="$emu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CUDA_EMU_MEMORY_MB="${CUDA_EMU_MEMORY_MB:-2048}"
tests='Cuda*Test,LaunchListTest,Backend*Test,DeviceSamplingTest,FixtureParityTest,TinyFamiliesTest,PagedCacheOperationsTest,MultiStepDecodeTest,RealModelEngineTest#beamSearchMatchesHuggingFace,GenerationConstraintsTest'
run() {
  ./mvnw -B test -pl core -am -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
    -Dtandem.extra-test-runs.skip=true "$@"
}
echo "== cuda tests on the CPU emulator"
run "$@"
flags='--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dai.djl.offline=true -Dguice_bytecode_gen_option=DISABLED'
echo "== again with cuda.graphs=true"
tests='FixtureParityTest,MultiStepDecodeTest' run "-Dtandem.jvm.flags=$flags -Dtandem.cuda.graphs=true" "$@"
echo "== the kernel tests with the kernels the defaults replaced (cuda.gemm=plain, decode-attention=lanes)"
tests='CudaKernelTest,CudaAttentionTest' run "-Dtandem.jvm.flags=$flags -Dtandem.cuda.gemm=plain -Dtandem.cuda.decode-attention=lanes" "$@"
for order in reverse warps; do
  echo "== the kernel and sampling tests with the threads scheduled in another order (CUDA_EMU_ORDER=$order)"
  CUDA_EMU_ORDER=$order tests='CudaKernelTest,CudaAttentionTest,DeviceSamplingTest' run "$@"
done
