#pragma once
// Waiting for a condition in a test: poll it every 10 ms until it holds or the bound passes.
// The bound is a failure limit, never the expected wait, so a slow machine slows a test down
// without failing it (unless something is really wrong).

#include <chrono>
#include <thread>

namespace switchyard::support {

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace switchyard::support
