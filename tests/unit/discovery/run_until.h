#pragma once
// Test helper: runs an io_context until a condition holds or a deadline passes, so that tests
// wait on what they expect instead of sleeping and hoping.

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace switchyard::testing {

template <class Predicate>
bool runUntil(boost::asio::io_context& io, Predicate done,
              std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    if (io.stopped()) io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace switchyard::testing
