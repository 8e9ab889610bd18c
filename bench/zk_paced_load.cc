#include "bench/zk_paced_load.h"

#include "tests/support/http_client.h"

namespace switchyard::bench {

using Clock = std::chrono::steady_clock;

PacedLoad::PacedLoad(PacedLoadOptions options)
    : options_(std::move(options)),
      tags_(static_cast<size_t>(options_.connections)),
      reconnect_wanted_(new std::atomic<bool>[static_cast<size_t>(options_.connections)]) {
  for (int i = 0; i < options_.connections; ++i) reconnect_wanted_[i] = false;
}

PacedLoad::~PacedLoad() { stop(); }

void PacedLoad::start() {
  stopping_ = false;
  for (int i = 0; i < options_.connections; ++i) threads_.emplace_back([this, i] { runClient(i); });
}

void PacedLoad::stop() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::vector<std::string> PacedLoad::errorSamples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

void PacedLoad::reconnect(int index) { reconnect_wanted_[index] = true; }

std::vector<std::string> PacedLoad::currentTags() const {
  std::lock_guard lock(mutex_);
  return tags_;
}

void PacedLoad::recordError(std::string what) {
  ++errors_;
  std::lock_guard lock(mutex_);
  if (samples_.size() < 10) samples_.push_back(std::move(what));
}

void PacedLoad::runClient(int index) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.connections / options_.rate));
  int generation = 0;
  std::string request;
  support::HttpClient client;
  // Spread the clients' send times over one interval so the gateway sees an even stream.
  auto next = Clock::now() + interval * index / options_.connections;
  while (!stopping_) {
    std::this_thread::sleep_until(next);
    next += interval;
    // Never send a burst to catch up after a stall: the schedule restarts from now.
    if (Clock::now() > next + std::chrono::milliseconds(10)) next = Clock::now() + interval;
    if (reconnect_wanted_[index].exchange(false)) client.close();
    if (!client.isOpen()) {
      if (!client.connect(options_.port)) {
        recordError("connect: " + client.lastError());
        continue;
      }
      std::string tag = std::to_string(index) + "." + std::to_string(generation++);
      request = support::HttpClient::buildRequest(
          "GET", "/", support::HeaderList{{"Host", options_.host}, {kClientHeader, tag}});
      std::lock_guard lock(mutex_);
      tags_[static_cast<size_t>(index)] = std::move(tag);
    }
    support::HttpResponse r =
        client.roundTrip(request, support::ReadOptions::within(options_.request_timeout));
    if (!r.ok() || r.status != 200) {
      recordError(r.describe());
      client.close();
      continue;
    }
    ++completed_;
    if (!r.keep_alive) client.close();
  }
}

}  // namespace switchyard::bench
