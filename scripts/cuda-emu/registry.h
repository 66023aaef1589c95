// Kernels by name, each with a way to turn cuLaunchKernel's parameter array into a call: the
// values are copied when the launch is made (or captured into a graph), as the driver does.
#pragma once

#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace emu {

using Call = std::function<void()>;
using Binder = std::function<Call(void**)>;

void register_kernel(const char* name, Binder binder);
const Binder* find_kernel(const std::string& name);

template <typename... P, size_t... I>
Call bind_params(void (*kernel)(P...), void** params, std::index_sequence<I...>) {
  std::tuple<std::decay_t<P>...> values{*static_cast<std::decay_t<P>*>(params[I])...};
  return [kernel, values] { std::apply(kernel, values); };
}

template <typename... P>
struct Registration {
  Registration(const char* name, void (*kernel)(P...)) {
    register_kernel(name, [kernel](void** params) {
      return bind_params(kernel, params, std::index_sequence_for<P...>{});
    });
  }
};

}  // namespace emu
