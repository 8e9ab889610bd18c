// ring_hash and maglev: the properties they share (same key, same endpoint; weights; weight 0;
// exclude; no key), run for both, and the disruption each promises when an endpoint leaves.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "routing/hash64.h"
#include "routing/hash_ring.h"
#include "routing/maglev.h"
#include "routing/maglev_table.h"
#include "routing/ring_hash.h"
#include "tests/unit/routing/lb_test_util.h"

namespace switchyard::routing {
namespace {

using testing::snapshotWithWeights;

PickContext keyed(uint64_t hash) {
  PickContext ctx;
  ctx.hash = hash;
  ctx.has_hash = true;
  return ctx;
}

uint64_t keyHash(int i) { return hashBytes("user-" + std::to_string(i)); }

// Which endpoint id each of `keys` keys goes to.
std::vector<std::string> assign(LoadBalancer& lb, const ClusterSnapshot& s, int keys) {
  std::vector<std::string> out;
  for (int k = 0; k < keys; ++k) {
    const int e = lb.pick(keyed(keyHash(k)));
    out.push_back(e < 0 ? "" : s.endpoints[static_cast<size_t>(e)].id);
  }
  return out;
}

class ConsistentHash : public ::testing::TestWithParam<config::LoadBalancerKind> {
 protected:
  std::unique_ptr<LoadBalancer> make() { return makeLoadBalancer(GetParam(), random_, time_); }
  Random random_{17};
  ManualTimeSource time_;
};

TEST_P(ConsistentHash, SameKeySameEndpointAcrossInstancesAndRebuilds) {
  auto s = snapshotWithWeights({1, 1, 1, 1, 1});
  auto a = make();
  auto b = make();
  a->update(s);
  b->update(s);
  const auto first = assign(*a, s, 2000);
  EXPECT_EQ(assign(*a, s, 2000), first);  // stable on one instance
  EXPECT_EQ(assign(*b, s, 2000), first);  // another worker agrees
  a->update(s);
  EXPECT_EQ(assign(*a, s, 2000), first);  // and a rebuild from the same set changes nothing
  std::set<std::string> used(first.begin(), first.end());
  EXPECT_EQ(used.size(), 5u);
}

TEST_P(ConsistentHash, KeysFollowTheWeights) {
  const std::vector<double> weights = {1, 2, 3, 4};
  auto s = snapshotWithWeights(weights);
  auto lb = make();
  lb->update(s);
  const int keys = 100000;
  std::map<int, int> count;
  for (int k = 0; k < keys; ++k) ++count[lb->pick(keyed(keyHash(k)))];
  // Key sampling spreads by the binomial; a ring also by where its points fall (160 per unit
  // of weight: about 1/sqrt(160) = 8% of a share), so the bound is relative, not in sigmas.
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(count[i], keys * weights[static_cast<size_t>(i)] / 10,
                keys * 0.1 * 0.25 * weights[static_cast<size_t>(i)])
        << "endpoint " << i;
}

TEST_P(ConsistentHash, NoKeyPicksByWeight) {
  const std::vector<double> weights = {1, 3};
  auto s = snapshotWithWeights(weights);
  auto lb = make();
  lb->update(s);
  std::map<int, int> count;
  for (int i = 0; i < 40000; ++i) ++count[lb->pick(PickContext{})];
  // The points (slots) an endpoint owns follow its weight up to the ring's placement spread.
  EXPECT_NEAR(count[1], 30000, 30000 * 0.1);
}

TEST_P(ConsistentHash, WeightZeroGetsNothing) {
  auto s = snapshotWithWeights({1, 0, 1});
  auto lb = make();
  lb->update(s);
  for (int k = 0; k < 5000; ++k) ASSERT_NE(lb->pick(keyed(keyHash(k))), 1);
  for (int k = 0; k < 5000; ++k) ASSERT_NE(lb->pick(PickContext{}), 1);
  auto zeros = snapshotWithWeights({0, 0});
  lb->update(zeros);
  EXPECT_EQ(lb->pick(keyed(1)), -1);
  auto empty = snapshotWithWeights({});
  lb->update(empty);
  EXPECT_EQ(lb->pick(keyed(1)), -1);
  EXPECT_EQ(lb->pick(PickContext{}), -1);
}

TEST_P(ConsistentHash, ExcludeTakesTheNextEndpointWhereTheKeyWouldGoWithoutIt) {
  auto s = snapshotWithWeights({1, 1, 1, 1});
  auto lb = make();
  lb->update(s);
  for (int k = 0; k < 2000; ++k) {
    const auto h = keyHash(k);
    const int first = lb->pick(keyed(h));
    const int retry = lb->pick(keyed(h), first);
    ASSERT_NE(retry, first);
    ASSERT_GE(retry, 0);
    ASSERT_EQ(lb->pick(keyed(h), first), retry);  // the retry target is stable too
    // Excluding another endpoint changes nothing.
    ASSERT_EQ(lb->pick(keyed(h), (first + 1) % 4), first);
  }
  for (int i = 0; i < 1000; ++i) ASSERT_NE(lb->pick(PickContext{}, 2), 2);
  auto one = snapshotWithWeights({1});
  lb->update(one);
  EXPECT_EQ(lb->pick(keyed(5), 0), 0);  // the only endpoint, even when excluded
}

// Fraction of keys that move when endpoint `leaving` of n leaves, and of those that move although
// their endpoint stayed.
struct Disruption {
  double moved = 0;
  double moved_needlessly = 0;
};

Disruption removeOne(LoadBalancer& lb, int n, int leaving, int keys) {
  auto before = snapshotWithWeights(std::vector<double>(static_cast<size_t>(n), 1.0));
  auto after = before;
  const std::string gone = before.endpoints[static_cast<size_t>(leaving)].id;
  after.endpoints.erase(after.endpoints.begin() + leaving);
  lb.update(before);
  const auto a = assign(lb, before, keys);
  lb.update(after);
  const auto b = assign(lb, after, keys);
  Disruption d;
  for (int k = 0; k < keys; ++k) {
    if (a[k] == b[k]) continue;
    d.moved += 1;
    if (a[k] != gone) d.moved_needlessly += 1;
  }
  d.moved /= keys;
  d.moved_needlessly /= keys;
  return d;
}

TEST(RingHashDisruption, OnlyTheLeavingEndpointsKeysMove) {
  Random random(1);
  RingHash lb(random);
  for (int n : {2, 3, 5, 7, 10, 40}) {
    const auto d = removeOne(lb, n, n / 2, 50000);
    EXPECT_LT(d.moved, 1.5 / n) << n << " endpoints";
    EXPECT_GT(d.moved, 0.5 / n) << n << " endpoints";
    EXPECT_EQ(d.moved_needlessly, 0) << n << " endpoints";  // consistent hashing's promise
  }
}

TEST(MaglevDisruption, AboutOneNthMovesAndFewOthers) {
  Random random(1);
  Maglev lb(random);
  for (int n : {5, 10, 40}) {
    const auto d = removeOne(lb, n, n / 2, 50000);
    EXPECT_LT(d.moved, 1.5 / n) << n << " endpoints";
    EXPECT_GT(d.moved, 0.5 / n) << n << " endpoints";
    // Maglev trades a little disruption for an even table (the paper measures a few percent
    // with tables this much larger than the set).
    EXPECT_LT(d.moved_needlessly, 0.05) << n << " endpoints";
  }
}

TEST(RingHashSize, PointsFollowWeightWithinBounds) {
  Random random(1);
  RingHash lb(random);
  auto s = snapshotWithWeights({1, 1});
  lb.update(s);
  EXPECT_EQ(lb.points(), 2 * 160u);  // a fixed 160 points per unit of weight
  auto big = snapshotWithWeights(std::vector<double>(100, 1.0));
  lb.update(big);
  EXPECT_EQ(lb.points(), 100 * 160u);
  auto heavy = snapshotWithWeights(std::vector<double>(100, 100.0));
  lb.update(heavy);
  EXPECT_EQ(lb.points(), 100 * 100 * 160u / 2);  // over 2^20: halved once
  auto tiny = snapshotWithWeights({100, 0.0001});
  lb.update(tiny);
  EXPECT_EQ(lb.points(), 100 * 160u + 1);  // every endpoint keeps at least one point
}

TEST(MaglevTable, SlotsFollowWeightsExactly) {
  Random random(1);
  Maglev lb(random);
  auto s = snapshotWithWeights({1, 2, 3, 4});
  lb.update(s);
  std::map<int, int> slots;
  // Walk the table through keyed picks on every slot index (hash % size == slot).
  for (uint32_t slot = 0; slot < Maglev::kTableSize; ++slot) ++slots[lb.pick(keyed(slot))];
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(slots[i], Maglev::kTableSize * (i + 1) / 10.0, 5) << "endpoint " << i;
}

// The ring and table a snapshot carries (built once by the control thread) and what a worker's
// balancer reads.
ClusterSnapshot withSharedTables(ClusterSnapshot s) {
  s.ring = HashRing::build(s.endpoints);
  s.maglev = MaglevTable::build(s.endpoints);
  return s;
}

const void* tableOf(const LoadBalancer& lb) {
  if (auto* r = dynamic_cast<const RingHash*>(&lb)) return r->ring();
  return dynamic_cast<const Maglev&>(lb).table();
}

const void* tableOf(const ClusterSnapshot& s, config::LoadBalancerKind kind) {
  if (kind == config::LoadBalancerKind::kRingHash) return s.ring.get();
  return s.maglev.get();
}

TEST_P(ConsistentHash, WorkersShareTheSnapshotsTableAndPickAsIfTheyHadBuiltIt) {
  const auto plain = snapshotWithWeights({1, 2, 1, 3, 1, 1});
  const auto shared = withSharedTables(plain);
  auto a = make();
  auto b = make();
  auto own = make();
  a->update(shared);
  b->update(shared);
  own->update(plain);
  // Both workers read the one table the snapshot carries; nobody built another.
  EXPECT_EQ(tableOf(*a), tableOf(shared, GetParam()));
  EXPECT_EQ(tableOf(*b), tableOf(shared, GetParam()));
  EXPECT_NE(tableOf(*own), tableOf(shared, GetParam()));
  EXPECT_EQ(assign(*a, shared, 5000), assign(*own, plain, 5000));
  EXPECT_EQ(assign(*b, shared, 5000), assign(*own, plain, 5000));
}

TEST_P(ConsistentHash, AnEndpointAWorkerScaledToZeroIsWalkedPastOnTheSharedTable) {
  const auto shared = withSharedTables(snapshotWithWeights({1, 1, 1, 1, 1}));
  auto lb = make();
  lb->update(shared);
  const auto before = assign(*lb, shared, 5000);
  auto view = shared;  // the worker's view: endpoint 2 ejected
  view.endpoints[2].weight_factor = 0;
  lb->update(view);
  EXPECT_EQ(tableOf(*lb), tableOf(shared, GetParam()));  // still shared: no rebuild
  const auto after = assign(*lb, view, 5000);
  const std::string& gone = shared.endpoints[2].id;
  int moved = 0;
  for (size_t k = 0; k < before.size(); ++k) {
    EXPECT_NE(after[k], gone);
    if (before[k] != gone) {
      EXPECT_EQ(after[k], before[k]) << "key " << k;  // nobody else's moves
    }
    if (before[k] == gone) ++moved;
  }
  EXPECT_GT(moved, 500);  // about a fifth of the keys were its
  if (GetParam() == config::LoadBalancerKind::kRingHash) {
    // On a ring, walking past it is exactly a ring without it.
    auto without = make();
    auto zero = snapshotWithWeights({1, 1, 0, 1, 1});
    without->update(zero);
    EXPECT_EQ(after, assign(*without, zero, 5000));
  }
  // Every endpoint scaled to 0: nothing to pick.
  for (auto& e : view.endpoints) e.weight_factor = 0;
  lb->update(view);
  EXPECT_EQ(lb->pick(keyed(keyHash(1))), -1);
  EXPECT_EQ(lb->pick(PickContext{}), -1);
}

TEST_P(ConsistentHash, ASlowStartRampBuildsTheWorkersOwnTable) {
  const auto shared = withSharedTables(snapshotWithWeights({1, 1, 1, 1}));
  auto view = shared;
  view.endpoints[3].weight_factor = 0.1;  // joined a moment ago
  auto lb = make();
  lb->update(view);
  EXPECT_NE(tableOf(*lb), tableOf(shared, GetParam()));
  std::map<std::string, int> count;
  for (const auto& id : assign(*lb, view, 20000)) ++count[id];
  // A tenth of a normal share (1/31 of the keys, ~645), far from a full one (5,000).
  EXPECT_LT(count[view.endpoints[3].id], 1500);
  EXPECT_GT(count[view.endpoints[3].id], 150);
  // A table built for another set is never read as this one's.
  auto other = snapshotWithWeights({1, 1, 1});
  other.ring = shared.ring;
  other.maglev = shared.maglev;
  lb->update(other);
  EXPECT_NE(tableOf(*lb), tableOf(shared, GetParam()));
  for (const auto& id : assign(*lb, other, 1000)) EXPECT_FALSE(id.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Policies, ConsistentHash,
    ::testing::Values(config::LoadBalancerKind::kRingHash, config::LoadBalancerKind::kMaglev),
    [](const auto& info) {
      return std::string(info.param == config::LoadBalancerKind::kRingHash ? "RingHash" : "Maglev");
    });

}  // namespace
}  // namespace switchyard::routing
