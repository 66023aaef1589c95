// The part of the CUDA driver API (libcuda.so.1) that JCuda's libJCudaDriver calls for Tandem's
// cuda backend, on the CPU: "device" memory is host memory, every stream runs its work at once in
// call order, a kernel runs through the fiber runtime, and stream capture records the work into a
// graph that cuGraphLaunch replays. Calls a capturing thread may not make (synchronous copies,
// allocations, synchronizing the captured stream) fail and invalidate the capture, as they do on
// a GPU. Environment:
//   CUDA_EMU_MEMORY_MB  device memory (default 2048)
//   CUDA_EMU_SMS        multiprocessors reported (default 132, an H100's)
//   CUDA_EMU_TRACE=1    print each launch, copy, memset and graph launch
//   CUDA_EMU_STATS=1    print at exit how many kernels ran directly and from graphs, how many
//                       graphs were captured and launched, and how often the host waited for a
//                       stream with work in it (cuStreamSynchronize after a launch, copy or graph
//                       launch on it: where a GPU's host would stall)
//   CUDA_EMU_KERNELS=none  run no kernel, memory starting zeroed: a step's time is then the host's
//                       work, for profiling it without a GPU (the outputs are meaningless)
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "registry.h"
#include "runtime.h"

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct Stream {
  bool capturing = false;
  bool invalidated = false;
  bool busy = false;  // work submitted since the last synchronize
  std::vector<emu::Call> captured;
};
struct Graph {
  std::vector<emu::Call> work;
};
struct Function {
  std::string name;
  const emu::Kernel* kernel;
};
using CUstream = Stream*;
using CUgraph = Graph*;
using CUgraphExec = Graph*;
using CUfunction = Function*;
using CUmodule = void*;
using CUcontext = void*;

namespace {

constexpr CUresult SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_FOUND = 500,
                   LAUNCH_FAILED = 719, CAPTURE_UNSUPPORTED = 900, CAPTURE_INVALIDATED = 901;

std::mutex lock;

struct Stats {
  std::atomic<long long> direct{0}, replayed{0}, captures{0}, graphLaunches{0}, waits{0};
  ~Stats() {
    const char* on = std::getenv("CUDA_EMU_STATS");
    if (on == nullptr || *on == '\0' || *on == '0') return;
    std::fprintf(stderr,
                 "cuda-emu: kernels run %lld directly, %lld from graphs; graphs captured %lld, "
                 "launched %lld; waits for a busy stream %lld\n",
                 direct.load(), replayed.load(), captures.load(), graphLaunches.load(),
                 waits.load());
  }
} stats;
thread_local bool replaying = false;
std::map<std::string, emu::Kernel>& kernels() {
  static std::map<std::string, emu::Kernel> all;
  return all;
}
std::map<void*, size_t> allocations;
size_t allocated = 0;
thread_local int capturingStreams = 0;  // capture mode "thread local": this thread's captures
thread_local Stream* captureOf = nullptr;
thread_local CUresult launchFailure = 0;  // set by a failed kernel, returned by the call that ran it

size_t env(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}
void trace(const char* what, size_t count, const char* unit = "bytes") {
  static const bool on = env("CUDA_EMU_TRACE", 0) != 0;
  if (on) std::fprintf(stderr, "cuda-emu: %s %zu %s\n", what, count, unit);
}
bool kernels_run() {
  static const bool run = [] {
    const char* v = std::getenv("CUDA_EMU_KERNELS");
    return v == nullptr || std::strcmp(v, "none") != 0;
  }();
  return run;
}
size_t total_memory() { return env("CUDA_EMU_MEMORY_MB", 2048) << 20; }

// An operation that synchronizes with the device, made while this thread captures: fails the
// capture as the driver does.
bool unsafe_during_capture() {
  if (capturingStreams == 0) return false;
  if (captureOf != nullptr) captureOf->invalidated = true;
  std::fprintf(stderr, "cuda-emu: a synchronous call while this thread captures a stream\n");
  return true;
}

// Runs work on a stream now, or records it when the stream captures.
CUresult submit(Stream* stream, emu::Call work) {
  if (stream != nullptr && stream->capturing) {
    stream->captured.push_back(std::move(work));
    return SUCCESS;
  }
  if (stream == nullptr && unsafe_during_capture()) return CAPTURE_UNSUPPORTED;
  if (stream != nullptr) stream->busy = true;
  work();
  return SUCCESS;
}

}  // namespace

namespace emu {
void register_kernel(const char* name, Kernel kernel) { kernels()[name] = std::move(kernel); }
const Kernel* find_kernel(const std::string& name) {
  auto it = kernels().find(name);
  return it == kernels().end() ? nullptr : &it->second;
}
}  // namespace emu

extern "C" {

CUresult cuInit(unsigned) { return SUCCESS; }
CUresult cuDriverGetVersion(int* version) {
  *version = 13000;
  return SUCCESS;
}
CUresult cuDeviceGetCount(int* count) {
  *count = 1;
  return SUCCESS;
}
CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  if (ordinal != 0) return INVALID_VALUE;
  *device = 0;
  return SUCCESS;
}
CUresult cuDeviceGetName(char* name, int length, CUdevice) {
  std::snprintf(name, length, "Tandem CUDA emulator (CPU)");
  return SUCCESS;
}
CUresult cuDeviceGetAttribute(int* value, int attribute, CUdevice) {
  switch (attribute) {
    case 16:  // multiprocessor count
      *value = (int)env("CUDA_EMU_SMS", 132);
      return SUCCESS;
    case 75:  // compute capability major
      *value = 9;
      return SUCCESS;
    case 76:  // minor
      *value = 0;
      return SUCCESS;
    case 10:  // warp size
      *value = 32;
      return SUCCESS;
    case 1:  // max threads per block
      *value = 1024;
      return SUCCESS;
    default:
      std::fprintf(stderr, "cuda-emu: device attribute %d not emulated\n", attribute);
      return INVALID_VALUE;
  }
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice) {
  *bytes = total_memory();
  return SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(CUcontext* context, CUdevice) {
  static int primary;
  *context = &primary;
  return SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice) { return SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext) { return SUCCESS; }

CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
  std::lock_guard<std::mutex> guard(lock);
  *total = total_memory();
  *free = *total - allocated;
  return SUCCESS;
}
CUresult cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes) {
  if (unsafe_during_capture()) return CAPTURE_UNSUPPORTED;
  if (bytes == 0) return INVALID_VALUE;
  std::lock_guard<std::mutex> guard(lock);
  if (allocated + bytes > total_memory()) return OUT_OF_MEMORY;
  void* p;
  if (kernels_run()) {
    p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (p != nullptr) std::memset(p, 0xff, bytes);  // reads before writes see NaN, as on a GPU
  } else {
    p = std::calloc(1, bytes);  // zeros, and pages not touched stay unmapped
  }
  if (p == nullptr) return OUT_OF_MEMORY;
  allocations[p] = bytes;
  allocated += bytes;
  *pointer = (CUdeviceptr)p;
  return SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr pointer) {
  if (unsafe_during_capture()) return CAPTURE_UNSUPPORTED;
  std::lock_guard<std::mutex> guard(lock);
  auto it = allocations.find((void*)pointer);
  if (it == allocations.end()) return INVALID_VALUE;
  allocated -= it->second;
  allocations.erase(it);
  std::free((void*)pointer);
  return SUCCESS;
}
CUresult cuMemAllocHost_v2(void** pointer, size_t bytes) {
  if (unsafe_during_capture()) return CAPTURE_UNSUPPORTED;
  *pointer = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
  return *pointer == nullptr ? OUT_OF_MEMORY : SUCCESS;
}
CUresult cuMemFreeHost(void* pointer) {
  std::free(pointer);
  return SUCCESS;
}
CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  trace("copy to device", bytes);
  if (unsafe_during_capture()) return CAPTURE_UNSUPPORTED;
  std::memcpy((void*)dst, src, bytes);
  return SUCCESS;
}
CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  trace("copy to host", bytes);
  if (unsafe_during_capture()) return CAPTURE_UNSUPPORTED;
  std::memcpy(dst, (const void*)src, bytes);
  return SUCCESS;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, CUstream stream) {
  trace("async copy to device", bytes);
  return submit(stream, [=] { std::memcpy((void*)dst, src, bytes); });
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  trace("async copy to host", bytes);
  return submit(stream, [=] { std::memcpy(dst, (const void*)src, bytes); });
}
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count, CUstream stream) {
  trace("memset", count * 4);
  return submit(stream, [=] {
    unsigned* p = (unsigned*)dst;
    for (size_t i = 0; i < count; i++) p[i] = value;
  });
}

CUresult cuStreamCreate(CUstream* stream, unsigned) {
  *stream = new Stream();
  return SUCCESS;
}
CUresult cuStreamDestroy_v2(CUstream stream) {
  delete stream;
  return SUCCESS;
}
CUresult cuStreamSynchronize(CUstream stream) {
  if (stream == nullptr && unsafe_during_capture()) return CAPTURE_UNSUPPORTED;
  if (stream != nullptr && stream->capturing) {
    stream->invalidated = true;
    return CAPTURE_UNSUPPORTED;
  }
  if (stream != nullptr && stream->busy) {
    stats.waits++;
    stream->busy = false;
  }
  return SUCCESS;
}
CUresult cuStreamBeginCapture_v2(CUstream stream, int) {
  if (stream == nullptr || stream->capturing) return INVALID_VALUE;
  stream->capturing = true;
  stream->invalidated = false;
  stream->captured.clear();
  capturingStreams++;
  captureOf = stream;
  return SUCCESS;
}
CUresult cuStreamEndCapture(CUstream stream, CUgraph* graph) {
  if (stream == nullptr || !stream->capturing) return INVALID_VALUE;
  stream->capturing = false;
  capturingStreams--;
  captureOf = nullptr;
  if (stream->invalidated) {
    *graph = nullptr;
    return CAPTURE_INVALIDATED;
  }
  stats.captures++;
  *graph = new Graph{std::move(stream->captured)};
  stream->captured.clear();
  return SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(CUgraphExec* exec, CUgraph graph, unsigned long long) {
  *exec = new Graph{graph->work};
  return SUCCESS;
}
CUresult cuGraphLaunch(CUgraphExec exec, CUstream stream) {
  if (stream != nullptr && stream->capturing) return CAPTURE_UNSUPPORTED;
  launchFailure = SUCCESS;
  stats.graphLaunches++;
  if (stream != nullptr) stream->busy = true;
  trace("graph launch:", exec->work.size(), "kernels and copies");
  replaying = true;
  for (emu::Call& work : exec->work) work();
  replaying = false;
  return launchFailure;
}
CUresult cuGraphDestroy(CUgraph graph) {
  delete graph;
  return SUCCESS;
}
CUresult cuGraphExecDestroy(CUgraphExec exec) {
  delete exec;
  return SUCCESS;
}

CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  if (image == nullptr) return INVALID_VALUE;
  static int any;
  *module = &any;  // every kernel is linked in; the image (PTX or fatbin) is not read
  return SUCCESS;
}
CUresult cuModuleUnload(CUmodule) { return SUCCESS; }
CUresult cuModuleGetFunction(CUfunction* function, CUmodule, const char* name) {
  const emu::Kernel* kernel = emu::find_kernel(name);
  if (kernel == nullptr) return NOT_FOUND;
  *function = new Function{name, kernel};
  return SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned sharedBytes, CUstream stream,
                        void** params, void** extra) {
  if (f == nullptr || params == nullptr || extra != nullptr) return INVALID_VALUE;
  // As the driver: at most the kernel's __launch_bounds__ threads, and at most 48 KiB of dynamic
  // shared memory unless cuFuncSetAttribute raised the limit (this emulator has no such call).
  unsigned threads = bx * by * bz;
  if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535 || threads == 0 ||
      threads > (unsigned)f->kernel->maxThreads || sharedBytes > 48 * 1024) {
    std::fprintf(stderr,
                 "cuda-emu: %s: invalid launch (%u, %u, %u) x (%u, %u, %u), %u bytes of dynamic "
                 "shared memory (at most %d threads, 49152 bytes)\n",
                 f->name.c_str(), gx, gy, gz, bx, by, bz, sharedBytes, f->kernel->maxThreads);
    return INVALID_VALUE;
  }
  emu::Call call = f->kernel->binder(params);
  std::string name = f->name;
  bool trace = env("CUDA_EMU_TRACE", 0) != 0;
  launchFailure = SUCCESS;
  CUresult queued = submit(stream, [=] {
    if (trace) {
      std::fprintf(stderr, "cuda-emu: %s (%u, %u, %u) x (%u, %u, %u)\n", name.c_str(), gx, gy, gz,
                   bx, by, bz);
    }
    (replaying ? stats.replayed : stats.direct)++;
    if (!kernels_run()) return;
    std::string why = emu::run_grid(dim3{gx, gy, gz}, dim3{bx, by, bz}, sharedBytes, call);
    if (!why.empty()) {
      std::fprintf(stderr, "cuda-emu: kernel %s failed: %s\n", name.c_str(), why.c_str());
      launchFailure = LAUNCH_FAILED;
    }
  });
  return queued != SUCCESS ? queued : launchFailure;
}

CUresult cuGetErrorName(CUresult error, const char** name) {
  static thread_local std::string text;
  text = "CUDA_EMU_ERROR_" + std::to_string(error);
  *name = text.c_str();
  return SUCCESS;
}
CUresult cuGetErrorString(CUresult error, const char** description) {
  return cuGetErrorName(error, description);
}

}  // extern "C"
