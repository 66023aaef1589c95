// Kernels by name, each with a way to turn cuLaunchKernel's parameter array into a call (the
// values are copied when the launch is made or captured into a graph, as the driver does) and the
// most threads a block may have (its __launch_bounds__, PTX's .maxntid; 1024 without).
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace emu {

using Call = std::function<void()>;
using Binder = std::function<Call(void**)>;

struct Kernel {
  Binder binder;
  int maxThreads;
};

void register_kernel(const char* name, Kernel kernel);
const Kernel* find_kernel(const std::string& name);

// One parameter's value, copied byte by byte as the driver does (no alignment asked of `from`).
template <typename T>
T param(const void* from) {
  T value;
  std::memcpy(&value, from, sizeof(T));
  return value;
}

template <typename... P, size_t... I>
Call bind_params(void (*kernel)(P...), void** params, std::index_sequence<I...>) {
  std::tuple<std::decay_t<P>...> values{param<std::decay_t<P>>(params[I])...};
  return [kernel, values] { std::apply(kernel, values); };
}

template <typename... P>
struct Registration {
  Registration(const char* name, void (*kernel)(P...), int maxThreads) {
    Binder binder = [kernel](void** params) {
      return bind_params(kernel, params, std::index_sequence_for<P...>{});
    };
    register_kernel(name, Kernel{binder, maxThreads});
  }
};

}  // namespace emu
