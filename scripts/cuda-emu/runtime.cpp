// Runs a grid on the CPU: blocks one after another, the threads of a block as fibers on the calling
// thread, switched at __syncthreads and at warp shuffles. A fiber is started once on its own stack
// and then runs thread after thread, block after block, launch after launch; a switch saves the
// callee-saved registers and swaps stack pointers (x86-64 only; swapcontext made two system calls
// per switch and dominated the run time), and the scheduler resumes only threads whose barrier
// has been released. A barrier some threads never reach fails the launch, as a trap
// does; the fibers it leaves inside a kernel are started afresh next time. Launches from several
// host threads take turns.
//
// CUDA_EMU_ORDER chooses the schedule, so that a missing __syncthreads shows in one of them:
//   forward (default)  blocks in order; between barriers, every thread in index order, one turn each
//   reverse            blocks and threads from the highest index down: a thread that reads what a
//                      lower one writes before a barrier that is not there reads it unwritten
//   warps              each warp runs ahead as far as it can (until every thread of it waits at a
//                      block barrier) before the next warp starts: a warp that reuses shared memory
//                      before the other warps have read it overwrites what they read
#include "runtime.h"


#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#if !defined(__x86_64__)
#error "the CUDA emulator's context switch is written for x86-64"
#endif

// emu_switch(save, to): pushes the callee-saved registers, stores the stack pointer in *save,
// loads `to` as the stack pointer, pops the registers saved there and returns on that stack.
extern "C" void emu_switch(void** save, void* to);
asm(R"(
  .text
  .p2align 4
  .type emu_switch, @function
emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size emu_switch, .-emu_switch
)");

namespace emu {

uint3 block_idx;
dim3 block_dim, grid_dim;

namespace {

constexpr size_t STACK_BYTES = 256 * 1024;

struct Barrier;

struct Fiber {
  std::unique_ptr<char[]> stack{new char[STACK_BYTES]};
  void* sp = nullptr;  // saved stack pointer while switched out
  const Barrier* waitingOn = nullptr;  // until its generation passes waitGeneration
  unsigned waitGeneration = 0;
  uint3 idx;
  int warp = 0;
  bool started = false;  // has a context inside fiber_main's loop to resume
  bool done = false;     // has finished this block's thread
};

// A barrier over the live threads of a block or of a warp: generation counting, so a thread that
// leaves it may arrive at the next one before the slow ones have woken.
struct Barrier {
  int live = 0, arrived = 0;
  unsigned generation = 0;

  void release_if_complete() {
    if (arrived > 0 && arrived == live) {
      arrived = 0;
      generation++;
    }
  }
};

// Lane values of a shuffle, in two buffers taken in turn: a lane that has passed shuffle n's
// barrier may write shuffle n + 1's value while slower lanes still read shuffle n's.
struct Warp {
  Barrier barrier;
  uint64_t slots[2][32];
};

std::mutex launches;
std::vector<std::unique_ptr<Fiber>> fibers;  // the block's threads: [0, threads)
std::vector<Warp> warps;
Barrier block;
Fiber* current = nullptr;
bool inKernel = false;  // a fiber runs (kernel code), not the scheduler or the host
void* schedulerSp = nullptr;
const std::function<void()>* body = nullptr;
std::vector<unsigned char> shared;
std::vector<void*> poisoned;  // __shared__ variables filled with NaN bytes in this block
unsigned long long events = 0;  // arrivals and exits: progress
std::string failure;

enum class Order { forward, reverse, warps };

// The schedule CUDA_EMU_ORDER asks for; an unknown value sets `error`, which fails every launch.
Order schedule(std::string& error) {
  static const std::string order = [] {
    const char* v = std::getenv("CUDA_EMU_ORDER");
    return std::string(v == nullptr ? "" : v);
  }();
  if (order == "" || order == "forward") return Order::forward;
  if (order == "reverse") return Order::reverse;
  if (order == "warps") return Order::warps;
  error = "CUDA_EMU_ORDER=" + order + ": use forward (the default), reverse or warps";
  return Order::forward;
}

bool can_run(const Fiber& f) {
  return !f.done && (f.waitingOn == nullptr || f.waitingOn->generation != f.waitGeneration);
}

void yield() { emu_switch(&current->sp, schedulerSp); }

void wait(Barrier& b) {
  unsigned generation = b.generation;
  b.arrived++;
  events++;
  b.release_if_complete();
  if (b.generation != generation) return;
  current->waitingOn = &b;
  current->waitGeneration = generation;
  while (b.generation == generation) yield();  // resumed once the generation has passed
  current->waitingOn = nullptr;
}

void exit_current() {
  current->done = true;
  events++;
  block.live--;
  block.release_if_complete();
  Barrier& w = warps[current->warp].barrier;
  w.live--;
  w.release_if_complete();
}

[[noreturn]] void fiber_main() {
  for (;;) {
    (*body)();
    exit_current();
    yield();  // resumed for the next block's thread
  }
}

// Runs fiber f until it waits or ends; a fiber not yet started gets a stack whose saved registers
// are zeros and whose return address is fiber_main, 16-byte aligned as at a call.
void run(Fiber& f) {
  current = &f;
  inKernel = true;
  if (!f.started) {
    f.started = true;
    uintptr_t top = ((uintptr_t)f.stack.get() + STACK_BYTES) & ~(uintptr_t)15;
    void** sp = (void**)(top - 16);
    *sp = (void*)&fiber_main;
    for (int r = 0; r < 6; r++) *--sp = nullptr;
    f.sp = sp;
  }
  emu_switch(&schedulerSp, f.sp);
  inKernel = false;
}

// After a failed block: fibers stopped inside the kernel start afresh next time.
std::string fail(const std::string& why, int threads) {
  for (int i = 0; i < threads; i++) {
    if (!fibers[i]->done) fibers[i]->started = false;
  }
  return why;
}

// Ends the running thread's kernel with `why` (a trap, a misaligned access): the launch fails.
[[noreturn]] void fail_kernel(const std::string& why) {
  if (!inKernel) {  // kernel code only runs in fibers: this is the emulator's own bug
    std::fprintf(stderr, "cuda-emu: %s outside a kernel\n", why.c_str());
    std::abort();
  }
  if (failure.empty()) failure = why;
  yield();  // never resumed: fail() has the fiber start afresh
  std::abort();
}

}  // namespace

const uint3& thread_idx() { return current->idx; }

void syncthreads() { wait(block); }

uint64_t shuffle(uint64_t mine, int src) {
  Warp& w = warps[current->warp];
  uint64_t* slots = w.slots[w.barrier.generation & 1];
  slots[lane()] = mine;
  wait(w.barrier);
  return slots[src];
}

void trap() { fail_kernel("__trap() in a kernel"); }

}  // namespace emu

// The kernels are compiled with -fsanitize=alignment: a load or store through a pointer that is
// not aligned for its type (a float4 at an address that is not a multiple of 16) lands here and
// fails the launch, as "misaligned address" does on a GPU, instead of running (x86 allows it).
namespace {
struct SourceLocation {
  const char* file;
  unsigned line, column;
};
struct TypeMismatch {
  SourceLocation location;
  const void* type;
  unsigned char logAlignment;
  unsigned char kind;
};
}  // namespace

extern "C" void __ubsan_handle_type_mismatch_v1(TypeMismatch* data, void* pointer) {
  char address[32];
  std::snprintf(address, sizeof address, "%p", pointer);
  emu::fail_kernel(std::string("misaligned address ") + address + " for a " +
                   std::to_string(1u << data->logAlignment) + "-byte aligned access at " +
                   data->location.file + ":" + std::to_string(data->location.line));
}

namespace emu {

void* dynamic_shared() { return shared.data(); }

void poison_shared(void* p, size_t bytes) {
  if (std::find(poisoned.begin(), poisoned.end(), p) != poisoned.end()) return;
  std::memset(p, 0xff, bytes);
  poisoned.push_back(p);
}

std::string run_grid(dim3 gridDim3, dim3 blockDim3, size_t sharedBytes,
                     const std::function<void()>& kernel) {
  std::lock_guard<std::mutex> turn(launches);
  std::string orderError;
  Order order = schedule(orderError);
  if (!orderError.empty()) return orderError;
  bool reverse = order == Order::reverse;
  grid_dim = gridDim3;
  block_dim = blockDim3;
  body = &kernel;
  failure.clear();
  int threads = (int)(blockDim3.x * blockDim3.y * blockDim3.z);
  if (threads <= 0 || threads > 1024) return "block of " + std::to_string(threads) + " threads";
  while ((int)fibers.size() < threads) fibers.emplace_back(new Fiber());
  warps.assign((threads + 31) / 32, Warp{});
  unsigned long long blocks = (unsigned long long)gridDim3.x * gridDim3.y * gridDim3.z;
  for (unsigned long long n = 0; n < blocks; n++) {
    unsigned long long b = reverse ? blocks - 1 - n : n;
    unsigned x = b % gridDim3.x, y = b / gridDim3.x % gridDim3.y,
             z = b / ((unsigned long long)gridDim3.x * gridDim3.y);
    block_idx = uint3{x, y, z};
    // Uninitialized shared memory reads as NaN, as garbage would on a GPU: dynamic shared
    // memory here, static __shared__ variables when the block first declares them.
    shared.assign(sharedBytes, 0xff);
    poisoned.clear();
    block = Barrier{};
    block.live = threads;
    for (size_t w = 0; w < warps.size(); w++) {
      warps[w].barrier = Barrier{};
      warps[w].barrier.live = std::min(32, threads - (int)w * 32);
    }
    for (int i = 0; i < threads; i++) {
      Fiber& f = *fibers[i];
      f.idx = uint3{i % blockDim3.x, (i / blockDim3.x) % blockDim3.y,
                    i / (blockDim3.x * blockDim3.y)};
      f.warp = i / 32;
      f.done = false;
      f.waitingOn = nullptr;
    }
    int live = threads;
    while (live > 0) {
      unsigned long long before = events;
      // One round: every thread that can run gets a turn (runs to its next wait), in the order's
      // sequence; in the warps order a warp's threads get turns until none of them can move.
      bool runAhead = order == Order::warps;
      int group = runAhead ? 32 : threads;
      for (int g0 = 0; g0 < threads; g0 += group) {
        int g1 = std::min(threads, g0 + group);
        for (bool moved = true; moved;) {
          moved = false;
          for (int k = g0; k < g1; k++) {
            Fiber& f = *fibers[reverse ? threads - 1 - k : k];
            if (!can_run(f)) continue;
            run(f);
            if (!failure.empty()) return fail(failure, threads);
            moved = runAhead;
          }
        }
      }
      live = 0;
      for (int i = 0; i < threads; i++) live += fibers[i]->done ? 0 : 1;
      if (live > 0 && events == before) {
        return fail("deadlock in block (" + std::to_string(x) + ", " + std::to_string(y) +
                        ", " + std::to_string(z) + "): " + std::to_string(live) +
                        " threads wait at a barrier or shuffle the others never reach",
                    threads);
      }
    }
  }
  return "";
}

}  // namespace emu
