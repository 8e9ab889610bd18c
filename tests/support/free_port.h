#pragma once
// A loopback port that was free a moment ago: bind 127.0.0.1:0, read the port the kernel chose,
// close. Another process may take it before the caller binds it; tests that can bind port 0
// themselves should, and use this only to fill a config file for a child process.

#include <cstdint>

namespace switchyard::support {

// Throws std::runtime_error when no socket can be bound (the machine is broken, not the test).
uint16_t freeLoopbackPort();

}  // namespace switchyard::support
