#pragma once
// A loopback port for a child process's config file (tests that can bind port 0 themselves
// should). Two hazards make "bind 127.0.0.1:0, read the port, close" unsafe under `ctest -j`:
// the kernel may hand the same just-freed port to another test process, and the gateway binds
// with SO_REUSEPORT, so two gateways given the same port would silently share it (and each
// other's connections). So the port is taken below the kernel's ephemeral range (bind(0) never
// hands it out) and reserved for this process's lifetime by an flock on a file named after it in
// a shared directory: no other test process (nor this one, twice) gets the same port while this
// process lives, and the lock goes with the process however it ends.

#include <cstdint>

namespace switchyard::support {

// Throws std::runtime_error when no port can be found (the machine is broken, not the test).
uint16_t freeLoopbackPort();

}  // namespace switchyard::support
