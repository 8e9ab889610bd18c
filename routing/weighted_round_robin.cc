#include "routing/weighted_round_robin.h"

#include <algorithm>

namespace switchyard::routing {

void WeightedRoundRobin::update(const ClusterSnapshot& snapshot) {
  heap_.clear();
  order_ = 0;
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i) {
    const double w = snapshot.endpoints[i].weight;
    if (w <= 0) continue;
    // Starting each at half a step interleaves the first cycle as well as the later ones.
    heap_.push_back({0.5 / w, 1.0 / w, order_++, static_cast<int>(i)});
  }
  std::make_heap(heap_.begin(), heap_.end(), later);
}

void WeightedRoundRobin::advance(Entry& e) {
  e.deadline += e.step;
  e.order = order_++;
}

int WeightedRoundRobin::pick(const PickContext&, int exclude) {
  if (heap_.empty()) return -1;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Entry first = heap_.back();
  advance(first);
  if (first.index != exclude || heap_.size() == 1) {
    heap_.back() = first;
    std::push_heap(heap_.begin(), heap_.end(), later);
    return first.index;
  }
  // The excluded endpoint keeps its turn consumed; the next one in line is taken instead.
  heap_.pop_back();
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Entry second = heap_.back();
  advance(second);
  heap_.back() = second;
  std::push_heap(heap_.begin(), heap_.end(), later);
  heap_.push_back(first);
  std::push_heap(heap_.begin(), heap_.end(), later);
  return second.index;
}

}  // namespace switchyard::routing
