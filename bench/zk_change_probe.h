#pragma once
// The change loop both ZooKeeper benchmarks share. Repeated `changes` times, with load flowing:
//   add:    a separate ZooKeeper client creates X's member (an ephemeral sequential member_ node,
//           as Aurora does) in the set; t0 is taken just before the write. Measured: the first
//           request X receives, and the request that completes "X has received a request from
//           every worker" (WorkerGroups). Then `hold_ms` of steady state.
//   delete: the client deletes the member (t0 just before); measured: the last request X
//           receives after t0, known once X has been quiet for `quiet_ms`.
// Also kept: how long ZooKeeper took to acknowledge each write (included in the figures above).
// Benchmark thread only.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/zk_arrival_log.h"
#include "bench/zk_paced_load.h"
#include "common/result.h"
#include "tests/support/zk_test_client.h"

namespace switchyard::bench {

struct ChangeProbeOptions {
  int changes = 200;
  int hold_ms = 100;
  int quiet_ms = 300;
  int timeout_ms = 5000;  // a change not seen within this fails the run
};

struct ChangeFigures {
  std::vector<double> add_first_ms, add_every_worker_ms, add_ack_ms;
  std::vector<double> delete_last_ms, delete_ack_ms;
  uint64_t ungrouped_arrivals = 0;       // requests at X from a client of no group (reconnected)
  uint64_t deletes_without_arrival = 0;  // X got nothing after t0: its last request came before

  // Markdown rows: | what | count | p50 | p99 | max |
  std::string table() const;
  // One CSV line per change, with a header line.
  std::string csv() const;
};

// Groups the load clients by worker (WorkerGroups) and, while the split is uneven by more than
// one client, reconnects a client of the largest group and looks again, up to `deadline`:
// SO_REUSEPORT spreads connections by a hash, and a worker with few clients would route to X
// rarely, blurring the "every worker" figure. Returns the last grouping (maybe still uneven).
WorkerGroups balanceClients(PacedLoad& load,
                            const std::vector<std::unique_ptr<support::TestBackend>>& backends,
                            Clock::time_point deadline);

// `alive` is asked after every change (the gateway still running?); false stops the run.
Result<ChangeFigures> runChanges(support::ZkTestClient& writer, const std::string& set_path,
                                 uint16_t x_port, ArrivalLog& arrivals, const WorkerGroups& workers,
                                 const ChangeProbeOptions& options,
                                 const std::function<bool()>& alive);

}  // namespace switchyard::bench
