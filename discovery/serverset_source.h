#pragma once
// `discovery: { serverset: PATH, endpoint: NAME, format: serverset|curator|nerve }`: the children
// of a ZooKeeper node are the instances (docs/discovery-formats.md).
//
// Work follows the change, not the set: the children list is watched, and each member's data is
// read (and watched) only when the member is new or its data changed; a removed child costs a map
// erase. Host names are resolved per member, asynchronously, when its data changes. The whole
// set is handed to ClusterManager only when every read and lookup started by a change is done,
// so a half-read set is never published.
//
// Through ZooKeeper trouble the last set stays (fail static): a lost connection changes nothing;
// a new session (after an expiry) reads the children and every member again and re-arms the
// watches, and only the difference is published. A set that becomes empty while the session is
// healthy keeps its previous instances (a mass deregistration or a broken writer looks exactly
// like that; Synapse's `use_previous_backends` does the same), with a warning, until members
// return. Malformed members are skipped and counted by reason; the others serve.
//
// Finagle weight vectors (format serverset only): every `vector_` child is read and watched like
// a member (only a changed one is read again), and an instance's weight is its own times the
// product of the matching selectors of every vector (weightFor; 0 drains). A malformed vector is
// skipped and counted like a bad member. `vector_switchyard` is not read here: it holds the
// operator overrides that gateways apply through their WeightsSource (weights.zookeeper_path:
// serverset), and reading it here too would apply them twice.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/time_source.h"
#include "config/config.h"
#include "discovery/discovery_source.h"
#include "discovery/member_decoder.h"
#include "discovery/zk_session.h"

namespace switchyard::discovery {

// The ServerSet child that holds operator weights (weights.zookeeper_path: serverset).
inline constexpr std::string_view kOperatorVectorName = "vector_switchyard";

class ServerSetSource final : public DiscoverySource {
 public:
  // `session` outlives the source. `cluster` names the cluster in logs and metrics.
  ServerSetSource(boost::asio::io_context& control, ZkSession& session,
                  const config::Discovery& discovery, std::string cluster);
  ~ServerSetSource() override;

  void start(UpdateCallback on_update) override;
  void stop() override;
  bool ready() const override { return ready_; }
  std::string describe() const override { return "serverset:" + path_; }
  SourceStatus status() const override;

 private:
  struct MemberState {
    std::string data;                    // last data read; an identical re-read changes nothing
    bool have_data = false;
    std::optional<Member> member;        // decoded; nullopt while unread or when rejected
    std::optional<boost::asio::ip::address> ip;  // resolved host, nullopt while resolving or failed
    uint64_t lookup = 0;                 // the lookup whose answer is awaited (0 = none)
  };

  void onSession(ZkSession::State state, bool new_session);
  // A Finagle weight vector child.
  struct VectorState {
    std::string data;
    bool have_data = false;
    std::vector<WeightSelector> selectors;  // empty while unread or when rejected
  };

  void onNodeEvent(const ZkSession::NodeEvent& event);
  void resync();
  void readChildren();
  void onChildren(int rc, std::vector<std::string> children);
  void readMember(const std::string& name);
  void onMemberData(const std::string& name, int rc, std::string data);
  void readVector(const std::string& name);
  void onVectorData(const std::string& name, int rc, std::string data);
  void resolve(const std::string& name, MemberState& state);
  void failed(const std::string& what, int rc);
  void reject(const std::string& name, const std::string& reason, const std::string& detail);
  void settle();
  InstanceSet currentSet() const;
  std::string childPath(const std::string& name) const;

  boost::asio::io_context& control_;
  ZkSession& session_;
  std::string path_;
  std::string endpoint_;
  config::ServerSetFormat format_;
  std::string cluster_;
  UpdateCallback on_update_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer grace_timer_;
  uint64_t session_listener_ = 0;
  uint64_t node_watcher_ = 0;
  bool running_ = false;
  bool ready_ = false;
  bool path_exists_ = false;
  bool holding_previous_ = false;
  bool needs_resync_ = false;  // a read failed: read everything again when connected
  bool reread_all_ = false;    // the next children list re-reads every member (resync)
  uint64_t generation_ = 0;  // bumped by resync(): answers of older reads are dropped
  size_t pending_ = 0;          // ZooKeeper reads of this generation not yet answered
  size_t lookups_pending_ = 0;  // host lookups of this generation not yet answered
  bool grace_armed_ = false;
  bool lookup_grace_over_ = false;
  uint64_t next_lookup_ = 1;
  uint64_t reads_ = 0;
  std::map<std::string, MemberState> members_;  // by znode name
  std::map<std::string, VectorState> vectors_;  // by znode name ("vector_...")
  InstanceSet published_;
  std::map<std::string, uint64_t> rejected_;    // by reason
  std::map<std::string, TimePoint> last_logged_;  // by reason, to limit log lines
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace switchyard::discovery
