// The fiber runtime behind emu.h.
#pragma once

#include <functional>
#include <string>

#include "emu.h"

namespace emu {
// Runs body once per thread of every block; returns "" or why the launch failed.
std::string run_grid(dim3 grid, dim3 block, size_t sharedBytes, const std::function<void()>& body);
}  // namespace emu
