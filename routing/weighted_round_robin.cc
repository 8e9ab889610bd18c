#include "routing/weighted_round_robin.h"

#include <algorithm>

#include "routing/effective_weight.h"

namespace switchyard::routing {

void WeightedRoundRobin::update(const ClusterSnapshot& snapshot) {
  heap_.clear();
  order_ = 0;
  for (size_t i = 0; i < snapshot.endpoints.size(); ++i) {
    const double w = effectiveWeight(snapshot.endpoints[i]);
    if (w <= 0) continue;
    // Starting each at half a step interleaves the first cycle as well as the later ones.
    heap_.push_back({0.5 / w, 1.0 / w, order_++, static_cast<int>(i)});
  }
  for (size_t i = heap_.size() / 2; i-- > 0;) siftDown(i);
}

void WeightedRoundRobin::advance(Entry& e) {
  e.deadline += e.step;
  e.order = order_++;
}

// Restores the min-heap below `i` after its deadline grew: one path down with an early stop,
// about half the work of pop_heap + push_heap.
void WeightedRoundRobin::siftDown(size_t i) {
  const size_t n = heap_.size();
  const Entry moving = heap_[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    // Branch-free choice of the earlier child: which one it is, is a coin toss for the CPU.
    child += static_cast<size_t>(child + 1 < n && later(heap_[child], heap_[child + 1]));
    if (!later(moving, heap_[child])) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = moving;
}

int WeightedRoundRobin::pick(const PickContext&, int exclude) {
  if (heap_.empty()) return -1;
  size_t at = 0;
  if (heap_[0].index == exclude && heap_.size() > 1) {
    // The excluded endpoint keeps its turn; the next in line is one of the root's children.
    at = heap_.size() > 2 && later(heap_[1], heap_[2]) ? 2 : 1;
  }
  const int chosen = heap_[at].index;
  advance(heap_[at]);
  siftDown(at);
  return chosen;
}

}  // namespace switchyard::routing
