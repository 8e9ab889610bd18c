#pragma once
// What a worker needs from every client connection it owns, whatever the protocol (HTTP/1.1,
// HTTP/2, a TCP tunnel): enforce its deadlines on the tick, drain it when the gateway stops,
// close it at once when the drain deadline passes. A session registers itself with its worker
// in its constructor and unregisters in its destructor (Worker::registerSession).

#include "common/time_source.h"

namespace switchyard::proxy {

class DownstreamSession {
 public:
  virtual ~DownstreamSession() = default;
  // The gateway drains: an idle connection closes now, a busy one once its work is done
  // (HTTP/1.1: after the response, with Connection: close; HTTP/2: GOAWAY, then the open streams).
  virtual void drain() = 0;
  // The worker's tick: acts when the current step's deadline has passed.
  virtual void checkDeadline(TimePoint now) = 0;
  // Closes the connection and everything it carries now.
  virtual void abort() = 0;
};

}  // namespace switchyard::proxy
