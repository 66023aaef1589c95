#!/usr/bin/env bash
# The GPU check: the CUDA (and later OpenCL) backends' tests and Tandem-vs-HuggingFace benchmarks
# on an NVIDIA machine that has no Java, Maven or network — only a driver, Python with torch and
# transformers, and a copy of this repository with the bundle carried along.
#
#   scripts/gpu-check.sh bundle [DIR]   here: build the bundle (scripts/gpu-bundle.sh), default .gpu-bundle/
#   scripts/gpu-check.sh run [DIR]      there, from the repository root: run everything, print one table
#
# run writes every log, JUnit XML report and JSON result under $OUT (default DIR/out). Phases, each
# bounded by `timeout` and by an overall budget of GPU_CHECK_SECONDS (default 470):
#   1. environment (nvidia-smi, CPU, memory, the runtime)
#   2. tests through the JUnit console: GPU_CHECK_TEST_PACKAGES (default: backend-cuda's kernel
#      tests, core's backend conformance suite, model parity and engine tests)
#   2c. the engine under block pressure on each GPU backend (scripts/gpu/GpuPressure.java):
#      numwords-t5 prompts with preemption by swap, outputs equal to an ample cache and to cpu
#   3. OpenCL tests, when the bundle holds backend-opencl tests (hook for the OpenCL backend)
#      and the cost of an op with the opencl op queue off and on (JMH OpenClQueueBenchmark)
#      and where an opencl step's time goes, op by op (option opencl.profile=true)
#   4. Tandem's benchmark (scripts/gpu/GpuBench.java over the engine's harness): t5-small and
#      bart-base, 128 in / 128 out, greedy; GPU backends at B = 1, 32, 256; cpu at 2 and 16 threads
#      with B = 1, 32 (4c: the decode GEMM shapes alone per thread count, time per call; 4d: the
#      same on the GPU per SGEMM variant, time per call and TFLOP/s)
#   5. HuggingFace generate() on the same workload (benchmarks/peers/hf_generate.py), same grid
#   6. one comparison table (benchmarks/peers/compare.py), also as $OUT/comparison.md
# Environment knobs: GPU_CHECK_SECONDS, GPU_CHECK_TEST_PACKAGES (comma-separated),
# GPU_CHECK_GPU_BACKENDS (default "cuda"; add opencl), GPU_CHECK_GPU_BATCHES (1,32,256),
# GPU_CHECK_CPU_BATCHES (1,32), GPU_CHECK_CPU_THREADS (16,2; empty: none), GPU_CHECK_MODELS (t5-small,bart-base),
# GPU_CHECK_SKIP (comma-separated phases to skip: tests,graphs,pressure,opencl,bench,gemm,devgemm,hf),
# GPU_CHECK_SAMPLING (flags for both benchmarks, e.g. "--temperature 1 --top-p 0.9" or
# "--num-beams 4"; default greedy), GPU_CHECK_JAVA_FLAGS (extra JVM flags for Tandem's benchmark,
# e.g. "-Dtandem.backend.cuda.device-sampling=false" to sample on the host, or
# "-Dtandem.num-scheduler-steps=8" for multi-step scheduling, "-Dtandem.max-num-batched-tokens=40000"
# to prefill a whole B = 256 batch in one step), GPU_CHECK_SCHEDULER_STEPS (the GPU
# backends' benchmark once per value, e.g. "1,8": rows "cuda K=8" beside HuggingFace's cuda rows),
# GPU_CHECK_CUDA_GRAPHS (default "false,true": the cuda benchmark without and with option
# cuda.graphs; rows "cuda graphs"), GPU_CHECK_CUDA_KERNELS (default "new"; "old,new" runs the cuda
# benchmark also with the kernels these replaced: cuda.decode-attention=lanes and cuda.gemm=plain,
# rows "cuda lanes plain"), GPU_CHECK_CPU_JFR (default "16": the cpu thread counts whose
# benchmark runs record JFR execution samples, $OUT/jfr-MODEL-tTHREADS-bBATCH.jfr; read them with
# scripts/jfr-threads.py; empty: none), GPU_CHECK_CPU_VECTOR_BITS (default "preferred": the CPU's
# widest; e.g. "preferred,256" runs the cpu benchmark again with -Dtandem.cpu.vector-bits=256,
# rows "cpu 256-bit", to see whether AVX-512 pays on that machine).
# At the end everything under $OUT but the log, the tables and the JSON rows is packed into
# $OUT/results.tar.xz (the device tool brings back 8 files at most).
set -uo pipefail

mode="${1:-}"
root="$(pwd)"
bundle="$(cd "$(dirname "$0")/.." && pwd)/.gpu-bundle"
[[ -n "${2:-}" ]] && bundle="$(cd "$2" && pwd)"

case "$mode" in
  bundle) exec "$(dirname "$0")/gpu-bundle.sh" "$bundle" ;;
  run) ;;
  *) echo "usage: $0 bundle|run [BUNDLE_DIR]" >&2; exit 2 ;;
esac

[[ -f "$bundle/junit-platform-console-standalone.jar" ]] || {
  echo "no bundle at $bundle: build it with scripts/gpu-check.sh bundle (on a machine with JDK 25)" >&2
  exit 2
}
out="${OUT:-$bundle/out}"
mkdir -p "$out"
exec > >(tee -a "$out/gpu-check.log") 2>&1

budget="${GPU_CHECK_SECONDS:-470}"
skip=",${GPU_CHECK_SKIP:-},"
models="${GPU_CHECK_MODELS:-t5-small,bart-base}"
gpu_backends="${GPU_CHECK_GPU_BACKENDS:-cuda}"
gpu_batches="${GPU_CHECK_GPU_BATCHES:-1,32,256}"
scheduler_steps="${GPU_CHECK_SCHEDULER_STEPS:-1}"
cuda_graphs="${GPU_CHECK_CUDA_GRAPHS:-false,true}"
cuda_kernels="${GPU_CHECK_CUDA_KERNELS:-new}"
cpu_batches="${GPU_CHECK_CPU_BATCHES:-1,32}"
cpu_threads="${GPU_CHECK_CPU_THREADS-16,2}" # set but empty: no cpu runs
cpu_jfr=",${GPU_CHECK_CPU_JFR-16},"
cpu_vector_bits="${GPU_CHECK_CPU_VECTOR_BITS:-preferred}"
read -r -a sampling <<< "${GPU_CHECK_SAMPLING:-}" # --temperature T --top-p P --top-k K | --num-beams N
packages="${GPU_CHECK_TEST_PACKAGES:-dev.tandem.backend.cuda,dev.tandem.core.backend,dev.tandem.core.model,dev.tandem.core.engine}"
SECONDS=0
status=()

phase() { echo; echo "=================== $* (t=${SECONDS}s)"; }
# Seconds a phase may still use: its own cap, less whatever keeps the overall budget.
allow() {
  local cap="$1" left=$(( budget - SECONDS ))
  (( left < cap )) && cap=$left
  (( cap < 0 )) && cap=0
  echo "$cap"
}
skipped() { [[ "$skip" == *",$1,"* ]]; }

phase "1. environment"
date -u
nvidia-smi || echo "nvidia-smi failed"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.max.sm --format=csv || true
echo "CPU: $(nproc) threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
free -g | head -2
echo "bundle: $bundle ($(cat "$bundle/COMMIT" 2>/dev/null || echo unknown commit)), output: $out"

runtime="$bundle/runtime"
if [[ ! -x "$runtime/bin/java" ]]; then
  if ! tar -C "$bundle" -xJf "$bundle/runtime.tar.xz" 2>/dev/null; then
    python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" \
      "$bundle/runtime.tar.xz" "$bundle"
  fi
fi
# Java's signal-chaining library first: an OpenCL driver built on LLVM replaces the JVM's signal
# handlers when it compiles a kernel, and two threads then taking an implicit null check at once
# kill the JVM without an hs_err file (see DeviceOps).
java=(env "LD_PRELOAD=$runtime/lib/libjsig.so${LD_PRELOAD:+:$LD_PRELOAD}" "$runtime/bin/java")
# NVIDIA's OpenCL driver through Debian's ICD loader, when the bundle carries it (opencl/), for
# every phase: the opencl backend's tests, core's tests over every backend, the benchmarks.
nv_ocl="$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so* /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so* 2>/dev/null | head -1)"
if [[ -f "$bundle/opencl/libOpenCL.so.1" && -n "$nv_ocl" ]]; then
  mkdir -p "$out/icd"
  echo "$nv_ocl" > "$out/icd/nvidia.icd"
  export OCL_ICD_VENDORS="$out/icd" LD_LIBRARY_PATH="$bundle/opencl:${LD_LIBRARY_PATH:-}"
  echo "OpenCL: ICD loader $bundle/opencl/libOpenCL.so.1 -> $nv_ocl"
fi
"${java[@]}" -version 2>&1 || { echo "the bundled Java runtime does not start"; exit 1; }
jvm_flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  -Dai.djl.offline=true -Dguice_bytecode_gen_option=DISABLED -Xss4m)
read -r -a extra_java_flags <<< "${GPU_CHECK_JAVA_FLAGS:-}"
# DJL unpacks its 15 MiB native library here: outside $OUT, whose files travel back
export DJL_OFFLINE=true DJL_CACHE_DIR="${TMPDIR:-/tmp}/tandem-djl-cache"
classpath="$(ls "$bundle"/lib/*.jar | tr '\n' ':')$bundle/classes"
test_classpath="$classpath"
for dir in "$bundle"/test-classes/*; do test_classpath+=":$dir"; done
# Tests find fixtures/ and models/ by walking up from the working directory.
cd "$bundle"

# junit PHASE_NAME TIMEOUT PACKAGE... : one JUnit console run, reports under $out/junit-PHASE_NAME.
junit() {
  local name="$1" limit="$2"; shift 2
  local selectors=()
  for p in "$@"; do selectors+=(--select-package "$p"); done
  local log="$out/tests-$name.txt" rc
  # -Xmx8g: the heap CI's tests get (a quarter of 24 GiB and more); one engine test sizes the cpu
  # KV cache from the free heap, which would be ~30 GiB of zeroing on a 128 GiB machine.
  timeout -k 10 "$limit" "${java[@]}" "${jvm_flags[@]}" "${junit_flags[@]}" -Xmx8g -jar "$bundle/junit-platform-console-standalone.jar" \
    execute --class-path "$test_classpath" "${selectors[@]}" --details=testfeed --disable-banner \
    --disable-ansi-colors --reports-dir "$out/junit-$name" > "$log" 2>&1
  rc=$?
  (( rc == 124 || rc == 137 )) && echo "TIMED OUT after ${limit}s (last lines of $log follow)"
  # The console gets what tells the story: availability lines, failures with their first lines,
  # why tests were skipped (once each), and JUnit's summary. Everything is in $log.
  grep -E "^(cuda availability|cuda device|testing backends|skipping backend)" "$log" | sort -u
  awk '/:: FAILED/ {print; n = 4; next} n > 0 {print; n--}' "$log" | head -150
  grep -h -A1 ":: ABORTED" "$log" | grep -v -e ":: ABORTED" -e "^--" | sort | uniq -c | head -10
  if grep -q "Test run finished" "$log"; then sed -n '/Test run finished/,$p' "$log"; else tail -20 "$log"; fi
  return "$rc"
}

tests_rc=0
junit_flags=() # extra JVM flags for the next junit run
if ! skipped tests; then
  # The backend's own kernel tests first, with synchronous launches: a kernel fault is then
  # reported at the operation that launched it, not at some later call.
  kernel_packages="" other_packages=""
  for p in ${packages//,/ }; do
    if [[ "$p" == dev.tandem.backend.* ]]; then kernel_packages+=" $p"; else other_packages+=" $p"; fi
  done
  if [[ -n "$kernel_packages" ]]; then
    phase "2a. backend kernel tests (CUDA_LAUNCH_BLOCKING=1):$kernel_packages"
    export CUDA_LAUNCH_BLOCKING=1
    junit kernels "$(allow 100)" $kernel_packages
    rc=$?; status+=("kernel tests rc=$rc"); (( rc != 0 )) && tests_rc=$rc
    unset CUDA_LAUNCH_BLOCKING
    # Kernels not yet measured on a GPU that fail their tests here: the benchmarks fall back to the
    # kernels they replaced, so that the run still gives valid figures (and says so).
    if grep -q "CudaAttentionTest > .*:: FAILED" "$out/tests-kernels.txt"; then
      echo "FALLBACK: cuda decode attention failed its tests; benchmarks use cuda.decode-attention=lanes"
      extra_java_flags+=(-Dtandem.cuda.decode-attention=lanes)
    fi
    if grep -q "CudaKernelTest > linearMatchesCpu.*:: FAILED" "$out/tests-kernels.txt"; then
      echo "FALLBACK: cuda linear failed its tests; benchmarks use cuda.gemm=plain"
      extra_java_flags+=(-Dtandem.cuda.gemm=plain)
    fi
  fi
  if [[ -n "$other_packages" ]]; then
    phase "2b. core tests over every available backend:$other_packages"
    junit core "$(allow 150)" $other_packages
    rc=$?; status+=("core tests rc=$rc"); (( rc != 0 )) && tests_rc=$rc
  fi
  if ! skipped graphs && [[ ",$gpu_backends," == *,cuda,* ]]; then
    # Kernel launches recorded and replayed as CUDA graphs (option cuda.graphs, KernelStream):
    # the model parity tests again on cuda alone, the graphs replaying every decode step after its
    # second.
    phase "2d. core model tests on cuda with cuda.graphs=true (-Dtandem.cuda.graphs=true)"
    junit_flags=(-Dtandem.cuda.graphs=true -Dtandem.test.backends=cuda)
    junit graphs "$(allow 120)" dev.tandem.core.model
    rc=$?; status+=("cuda graphs tests rc=$rc"); (( rc != 0 )) && tests_rc=$rc
    junit_flags=()
    if (( rc != 0 )) && [[ "$cuda_graphs" == *true* ]]; then
      echo "FALLBACK: the model tests failed with cuda.graphs=true; benchmarks run without graphs"
      cuda_graphs=false
    fi
  fi
fi

if ! skipped pressure; then
  for backend in ${gpu_backends//,/ }; do
    phase "2c. engine under block pressure on $backend (preemption by swap through pinned memory)"
    timeout -k 5 "$(allow 90)" "${java[@]}" "${jvm_flags[@]}" -cp "$classpath" \
      dev.tandem.gpucheck.GpuPressure "$backend" models/numwords-t5 > "$out/pressure-$backend.txt" 2>&1
    rc=$?
    grep -v -e "^WARNING" -e "^INFO" -e " AM dev\.tandem" -e " PM dev\.tandem" "$out/pressure-$backend.txt" | tail -25
    status+=("pressure $backend rc=$rc")
  done
fi

if ! skipped opencl && [[ -d "$bundle/test-classes/backend-opencl" ]]; then
  phase "3. OpenCL tests"
  # The backend's kernel tests, then core's conformance suite, which also compares opencl with
  # cpu op by op (the ICD set up in phase 1 made it available). Benchmark it by adding opencl to
  # GPU_CHECK_GPU_BACKENDS.
  junit opencl "$(allow 150)" dev.tandem.backend.opencl dev.tandem.core.backend
  status+=("opencl tests rc=$?")
  if compgen -G "$bundle/lib/jmh-core-*.jar" >/dev/null; then
    phase "3b. opencl: the cost of an op with the op queue off and on (JMH OpenClQueueBenchmark)"
    timeout -k 5 "$(allow 90)" "${java[@]}" "${jvm_flags[@]}" -cp "$classpath" org.openjdk.jmh.Main \
      OpenClQueueBenchmark -f 0 -wi 2 -i 3 -w 1 -r 1 > "$out/opencl-queue-jmh.txt" 2>&1
    status+=("opencl queue benchmark rc=$?")
    sed -n '/^Benchmark /,$p' "$out/opencl-queue-jmh.txt"
  fi
  # Where an opencl step's time goes, op by op (each launched alone; includes warm-up and prefill),
  # and at B = 256 the default kernels beside the GPU variants not yet measured (local-memory GEMM
  # tiles, a work-group per attention pair).
  for run in 1:tiles:items 256:tiles:items 256:local:groups; do
    IFS=: read -r batch gemm attention <<< "$run"
    phase "3c. opencl profile: t5-small B = $batch, gemm=$gemm, attention=$attention, 128 in / 32 out"
    timeout -k 5 "$(allow 60)" "${java[@]}" "${jvm_flags[@]}" -Dtandem.backend.opencl.profile=true \
      -Dtandem.backend.opencl.gemm="$gemm" -Dtandem.backend.opencl.attention="$attention" \
      -cp "$classpath" dev.tandem.gpucheck.GpuBench --preset t5-small --backend opencl --threads 0 \
      --batch "$batch" --input-len 128 --output-len 32 --json-out "$out/opencl-profile.jsonl" \
      > "$out/opencl-profile-$batch-$gemm-$attention.txt" 2>&1
    status+=("opencl profile B=$batch $gemm $attention rc=$?")
    grep -A 22 '^opencl profile' "$out/opencl-profile-$batch-$gemm-$attention.txt" | grep -v '^tandem '
    grep '^tandem ' "$out/opencl-profile-$batch-$gemm-$attention.txt"
  done
fi

tandem_json="$out/tandem.jsonl"
hf_json="$out/hf.jsonl"
: > "$tandem_json"
: > "$hf_json"

# bench BACKEND THREADS BATCHES: one JVM per configuration, so a hang or crash costs one row. On a
# GPU backend, nvidia-smi is polled meanwhile: the peak memory above the idle level (CUDA context
# included) goes into the row as gpu_gib.
bench() {
  local backend="$1" threads="$2" batches="$3" model batch
  for model in ${models//,/ }; do
    for batch in ${batches//,/ }; do
      local limit; limit="$(allow 90)"
      (( limit < 10 )) && { echo "out of time: skipping tandem $model $backend B=$batch"; continue; }
      local poller="" idle=""
      if [[ "$backend" != cpu ]] && command -v nvidia-smi >/dev/null; then
        idle="$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)"
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$out/gpu-memory-samples.txt" &
        poller=$!
      fi
      local recording=()
      if [[ "$backend" == cpu && "$cpu_jfr" == *",$threads,"* ]]; then
        recording=("-XX:StartFlightRecording=filename=$out/jfr-$model-t$threads-b$batch.jfr,settings=$root/scripts/gpu/sampling.jfc")
      fi
      timeout -k 5 "$limit" "${java[@]}" "${jvm_flags[@]}" "${extra_java_flags[@]}" "${recording[@]}" -cp "$classpath" dev.tandem.gpucheck.GpuBench \
        --preset "$model" --backend "$backend" --threads "$threads" --batch "$batch" \
        --input-len 128 --output-len 128 "${sampling[@]}" --json-out "$tandem_json" \
        || echo "tandem $model $backend threads=$threads B=$batch failed (rc=$?)"
      if [[ -n "$poller" ]]; then
        kill "$poller" 2>/dev/null; wait "$poller" 2>/dev/null
        python3 - "$tandem_json" "$out/gpu-memory-samples.txt" "$idle" "$model" "$batch" "$backend" <<'PY'
import json, sys
path, samples, idle, model, batch, backend = sys.argv[1:]
peak = max([int(x) for x in open(samples).read().split() if x.strip().isdigit()] or [0])
lines = open(path).read().splitlines()
if lines:
    row = json.loads(lines[-1])
    if row["model"] == model and row["batch"] == int(batch) and row["device"] == backend:
        row["gpu_gib"] = round((peak - int(idle or 0)) / 1024, 3)
        lines[-1] = json.dumps(row)
        open(path, "w").write("\n".join(lines) + "\n")
        print(f"GPU memory: peak {peak} MiB, idle {idle} MiB")
PY
      fi
    done
  done
}

# hf DEVICE [THREADS]: HuggingFace on the same grid.
hf() {
  local device="$1" limit; limit="$(allow "$2")"
  shift 2
  (( limit < 10 )) && { echo "out of time: skipping HuggingFace $device"; return; }
  timeout -k 5 "$limit" python3 "$bundle/hf/hf_generate.py" --device "$device" --model "$models" \
    --out "$hf_json" "${sampling[@]}" "$@" || echo "HuggingFace $device failed or timed out (rc=$?)"
}

if ! skipped bench; then
  for backend in ${gpu_backends//,/ }; do
    for steps in ${scheduler_steps//,/ }; do
      graph_runs=false kernel_runs=new
      [[ "$backend" == cuda ]] && graph_runs="${cuda_graphs//,/ }" kernel_runs="${cuda_kernels//,/ }"
      for graphs in $graph_runs; do
        for kernels in $kernel_runs; do
          phase "4a. Tandem $backend, num-scheduler-steps $steps, cuda.graphs $graphs, $kernels kernels: $models, B = $gpu_batches"
          saved_flags=("${extra_java_flags[@]}")
          extra_java_flags+=("-Dtandem.num-scheduler-steps=$steps" "-Dtandem.cuda.graphs=$graphs")
          [[ "$kernels" == old ]] && extra_java_flags+=("-Dtandem.cuda.decode-attention=lanes" "-Dtandem.cuda.gemm=plain")
          bench "$backend" 0 "$gpu_batches"
          extra_java_flags=("${saved_flags[@]}")
        done
      done
    done
  done
fi
if ! skipped devgemm && [[ ",$gpu_backends," == *,cuda,* ]]; then
  # The decode steps' GEMM shapes alone on the GPU, per SGEMM variant: how far each is from the
  # device's peak (GemmDeviceTime; t5-small and bart-base at B = 256, 32, 1, and one prefill).
  for variant in cuda.gemm=staged cuda.gemm=plain cuda.tf32=true; do
    phase "4d. cuda GEMMs per call, $variant (GemmDeviceTime)"
    timeout -k 5 "$(allow 40)" "${java[@]}" "${jvm_flags[@]}" -cp "$classpath" \
      dev.tandem.benchmarks.GemmDeviceTime --backend cuda --option "$variant" --round-seconds 0.1 \
      256x512x512 256x512x2048 256x2048x512 256x512x32128 256x768x768 256x768x3072 256x3072x768 \
      256x768x50265 32x512x512 32x512x2048 32x768x3072 1x512x512 1x768x50265 16384x512x512 2>&1 \
      | grep -v -e '^WARNING' | tee "$out/gemm-cuda-${variant//[.=]/-}.txt"
  done
fi
if ! skipped hf; then
  phase "5a. HuggingFace cuda: $models, B = $gpu_batches"
  hf cuda 120 --batch "$gpu_batches"
fi
# CPU beside HuggingFace, thread count by thread count, so that each pair completes together.
for threads in ${cpu_threads//,/ }; do
  if ! skipped gemm; then
    # A decode step's GEMM shapes alone, wall time per call: at B = 1 mostly what handing a loop
    # to this many threads costs (GemmCpuTime, from the benchmarks jar; ~15 s).
    phase "4c. cpu GEMMs per call, $threads threads (GemmCpuTime)"
    timeout -k 5 "$(allow 40)" "${java[@]}" "${jvm_flags[@]}" -cp "$classpath" \
      dev.tandem.benchmarks.cpu.GemmCpuTime --threads "$threads" --round-seconds 0.3 \
      1x512x512 1x512x2048 1x2048x512 1x512x32128 32x512x512 32x512x2048 2>&1 \
      | grep -v -e '^WARNING' | tee "$out/gemm-cpu-t$threads.txt"
  fi
  if ! skipped bench; then
    for bits in ${cpu_vector_bits//,/ }; do
      phase "4b. Tandem cpu, $threads threads, $bits-bit vectors: $models, B = $cpu_batches"
      saved_flags=("${extra_java_flags[@]}")
      [[ "$bits" != preferred ]] && extra_java_flags+=("-Dtandem.cpu.vector-bits=$bits")
      bench cpu "$threads" "$cpu_batches"
      extra_java_flags=("${saved_flags[@]}")
    done
  fi
  if ! skipped hf; then
    phase "5b. HuggingFace cpu, $threads threads: $models, B = $cpu_batches"
    hf cpu 100 --threads "$threads" --batch "$cpu_batches"
  fi
done

phase "6. Tandem vs HuggingFace (tokens/s; ratio = Tandem / HF)"
python3 "$bundle/hf/compare.py" "$tandem_json" "$hf_json" --markdown "$out/comparison.md" \
  | tee "$out/comparison.txt"
# One archive for the rest: the device tool brings back at most 8 files.
(cd "$out" && find . -mindepth 1 -maxdepth 1 ! -name gpu-check.log ! -name 'comparison.*' \
  ! -name '*.jsonl' ! -name results.tar.xz -printf '%P\n' | tar -cJf results.tar.xz -T - --remove-files) \
  || echo "could not pack $out into results.tar.xz"
echo
echo "GPU CHECK DONE in ${SECONDS}s: ${status[*]:-no tests run}; results in $out"
exit "$tests_rc"
