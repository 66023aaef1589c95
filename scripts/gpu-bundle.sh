#!/usr/bin/env bash
# Builds the GPU-check bundle (.gpu-bundle/ by default): everything `scripts/gpu-check.sh run` needs
# on a bare Linux x86-64 NVIDIA machine without Java, Maven or network.
#
#   runtime.tar.xz   jlinked Java 25 runtime, stripped, xz-packed (the bundle must stay under
#                    60 MiB), unpacked on the first run into runtime/
#   lib/             the project's jars and their runtime dependencies; JCuda's natives slimmed to
#                    libJCudaDriver, DJL tokenizers' and Aparapi's natives to linux-x86_64; the
#                    JMH benchmarks' own jar and JMH (not the 54 MiB benchmarks.jar)
#   opencl/          Debian's libOpenCL.so.1 (ICD loader), for the opencl backend
#   test-classes/    test classes + resources of core, backend-cpu (the shared test kit), backend-cuda
#                    (and backend-opencl if it has tests)
#   junit-platform-console-standalone.jar
#   classes/         the benchmark launcher (scripts/gpu/*.java)
#   fixtures/ models/       links to the repository's test data and bundled model
#   hf/                     the HuggingFace peer scripts
#
# usage: scripts/gpu-bundle.sh [BUNDLE_DIR]     (needs JDK 25; Maven Central on first use)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bundle="${1:-$root/.gpu-bundle}"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
jdk="$JAVA_HOME/bin"
junit_platform=1.14.1 # the platform release of the project's JUnit 5.14.1
modules=java.base,java.logging,java.management,java.xml,jdk.incubator.vector,jdk.jfr,jdk.management,jdk.unsupported,jdk.zipfs
limit_mib=60

cd "$root"
echo "== building jars and test classes"
# Modules whose tests the GPU run executes, and everything they need.
projects=core,backend-cuda,benchmarks
[[ -d backend-opencl/src/test ]] && projects+=",backend-opencl"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
./mvnw -q -B -pl "$projects" -am package dependency:copy-dependencies \
  -DskipTests -Dspotless.check.skip=true -DincludeScope=test -DoutputDirectory="$work/deps"

rm -rf "$bundle"
mkdir -p "$bundle/lib" "$bundle/test-classes" "$bundle/classes" "$bundle/hf"

echo "== jars"
for jar in "$work"/deps/*.jar; do
  name="$(basename "$jar")"
  case "$name" in
    # junit-platform-console-standalone brings JUnit itself
    junit-* | opentest4j-* | apiguardian-*) continue ;;
  esac
  cp "$jar" "$bundle/lib/"
done
for module in api core backend-cpu backend-cuda backend-opencl block-manager-v1 block-manager-v2 \
  benchmarks; do
  cp "$module"/target/tandem-"$module"-*.jar "$bundle/lib/" 2>/dev/null || true
done
rm -f "$bundle"/lib/*-tests.jar "$bundle"/lib/*-sources.jar
slim() { [[ -f "$1" ]] && python3 "$root/scripts/gpu/slim_jar.py" "$@"; return 0; }
slim "$(ls "$bundle"/lib/jcuda-natives-*.jar)" --drop lib/ --keep lib/libJCudaDriver-
slim "$(ls "$bundle"/lib/tokenizers-*.jar)" --drop native/lib/ \
  --keep native/lib/linux-x86_64/ native/lib/tokenizers.properties
slim "$(ls "$bundle"/lib/aparapi-jni-*.jar 2>/dev/null)" --drop linux/ osx/ win/ \
  --keep linux/libaparapi_x86_64.so

echo "== test classes"
# backend-cpu: the kernel tests' shared kit (dev.tandem.backend.testkit) lives in its test classes.
for module in core backend-cpu backend-cuda backend-opencl; do
  if [[ -d "$module/target/test-classes" ]]; then
    cp -r "$module/target/test-classes" "$bundle/test-classes/$module"
  fi
done

echo "== junit console $junit_platform"
./mvnw -q -B dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_platform" \
  -DoutputDirectory="$work/junit" >/dev/null
cp "$work"/junit/junit-platform-console-standalone-*.jar "$bundle/junit-platform-console-standalone.jar"

echo "== benchmark launcher"
if ! "$jdk/javac" --release 25 -d "$bundle/classes" -cp "$bundle/lib/*" "$root"/scripts/gpu/*.java; then
  echo "WARNING: the engine's benchmark harness (dev.tandem.core.bench) does not compile against" \
    "this build: the bundle's benchmark phase will report no Tandem figures" >&2
  "$jdk/javac" --release 25 -d "$bundle/classes" "$root/scripts/gpu/GpuBench.java" \
    "$root/scripts/gpu/fallback/HarnessBridge.java"
fi

echo "== jlinked runtime ($modules)"
strip_native=()
command -v objcopy >/dev/null && strip_native=(--strip-native-debug-symbols "objcopy=$(command -v objcopy)")
# No jlink compression: xz over the plain image packs to 15 MiB, over a zip-9 image to 24 MiB.
"$jdk/jlink" --add-modules "$modules" --strip-debug --no-header-files \
  --no-man-pages "${strip_native[@]}" --output "$work/runtime" 2>&1 | grep -v incubator || true
tar -C "$work" -cf - runtime | xz -9 -T0 > "$bundle/runtime.tar.xz"

if compgen -G "$bundle/lib/aparapi-jni-*.jar" >/dev/null; then
  # Debian's OpenCL ICD loader (package ocl-icd-libopencl1): the GPU machine has NVIDIA's OpenCL
  # driver but no loader; `gpu-check.sh run` puts it on LD_LIBRARY_PATH with an ICD file.
  icd_loader="$(ls /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 2>/dev/null || true)"
  if [[ -n "$icd_loader" ]]; then
    mkdir -p "$bundle/opencl"
    cp -L "$icd_loader" "$bundle/opencl/libOpenCL.so.1"
  else
    echo "WARNING: no libOpenCL.so.1 here (apt-get install ocl-icd-libopencl1): the GPU run's" \
      "OpenCL phase will find no platform" >&2
  fi
fi

echo "== data and scripts"
# Links, not copies: the repository travels with the bundle, and the device tool's 64 MiB limit
# counts both.
ln -sfn ../fixtures "$bundle/fixtures"
ln -sfn ../models "$bundle/models"
cp benchmarks/peers/*.py "$bundle/hf/"
git rev-parse HEAD > "$bundle/COMMIT" 2>/dev/null || true

size_mib=$(( $(du -sb "$bundle" | cut -f1) / 1048576 ))
echo "== bundle $bundle: ${size_mib} MiB (limit ${limit_mib} MiB)"
du -sh "$bundle"/* | sort -h | tail -8
if (( size_mib >= limit_mib )); then
  echo "bundle too large: ${size_mib} MiB >= ${limit_mib} MiB" >&2
  exit 1
fi
