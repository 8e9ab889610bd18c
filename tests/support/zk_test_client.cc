#include "tests/support/zk_test_client.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace switchyard::support {

namespace {

// The C client logs to stderr at INFO by default; that drowns test output. Process-wide, so it
// is set before every handle is made (cheap and idempotent).
void configureClientLogging() {
  const char* env = std::getenv("SWITCHYARD_ZK_CLIENT_LOG");
  zoo_set_debug_level(env && *env ? ZOO_LOG_LEVEL_INFO : static_cast<ZooLogLevel>(0));
}

int createFlags(ZkNodeMode mode) {
  switch (mode) {
    case ZkNodeMode::kPersistent:
      return ZOO_PERSISTENT;
    case ZkNodeMode::kEphemeral:
      return ZOO_EPHEMERAL;
    case ZkNodeMode::kPersistentSequential:
      return ZOO_PERSISTENT_SEQUENTIAL;
    case ZkNodeMode::kEphemeralSequential:
      return ZOO_EPHEMERAL_SEQUENTIAL;
  }
  return ZOO_PERSISTENT;
}

std::string errorText(const char* what, const std::string& path, int rc) {
  return std::string(what) + " " + path + ": " + zerror(rc) + " (" + std::to_string(rc) + ")";
}

// State of a handle used only to expire a session: the watcher signals when it connects.
struct ExpiryHandleState {
  std::mutex mutex;
  std::condition_variable changed;
  int state = 0;
};

void expiryWatcher(zhandle_t*, int type, int state, const char*, void* context) {
  if (type != ZOO_SESSION_EVENT) return;
  auto* s = static_cast<ExpiryHandleState*>(context);
  std::lock_guard lock(s->mutex);
  s->state = state;
  s->changed.notify_all();
}

}  // namespace

ZkTestClient::~ZkTestClient() { close(); }

void ZkTestClient::watcher(zhandle_t*, int type, int state, const char*, void* context) {
  // Runs on the C client's completion thread.
  if (type != ZOO_SESSION_EVENT) return;
  auto* self = static_cast<ZkTestClient*>(context);
  std::lock_guard lock(self->mutex_);
  self->state_.store(state);
  self->changed_.notify_all();
}

::testing::AssertionResult ZkTestClient::connect(const std::string& connect_string,
                                                 std::chrono::milliseconds session_timeout,
                                                 std::chrono::milliseconds wait) {
  close();
  configureClientLogging();
  state_.store(0);
  zh_ = zookeeper_init(connect_string.c_str(), &ZkTestClient::watcher,
                       static_cast<int>(session_timeout.count()), nullptr, this, 0);
  if (zh_ == nullptr) {
    return ::testing::AssertionFailure()
           << "zookeeper_init(" << connect_string << "): " << std::strerror(errno);
  }
  if (!waitForState(ZOO_CONNECTED_STATE, wait)) {
    int last = state();
    close();
    return ::testing::AssertionFailure()
           << "no ZooKeeper session on " << connect_string << " within " << wait.count()
           << " ms (state " << last << ")";
  }
  return ::testing::AssertionSuccess();
}

void ZkTestClient::close() {
  if (zh_ == nullptr) return;
  zookeeper_close(zh_);  // joins the client's threads: no watcher call after this
  zh_ = nullptr;
  state_.store(0);
}

bool ZkTestClient::waitForState(int state, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return state_.load() == state; });
}

clientid_t ZkTestClient::clientId() const {
  clientid_t id{};
  if (zh_ != nullptr) id = *zoo_client_id(zh_);
  return id;
}

int ZkTestClient::negotiatedTimeoutMs() const {
  return zh_ != nullptr && connected() ? zoo_recv_timeout(zh_) : 0;
}

std::string ZkTestClient::currentServer() const {
  if (zh_ == nullptr) return {};
  const char* server = zoo_get_current_server(zh_);
  // A per-thread static buffer of the C client: copy it, never free it.
  return server ? server : "";
}

::testing::AssertionResult ZkTestClient::failure(const char* what, const std::string& path,
                                                 int rc) const {
  return ::testing::AssertionFailure() << errorText(what, path, rc);
}

::testing::AssertionResult ZkTestClient::createPath(const std::string& path) {
  if (zh_ == nullptr)
    return ::testing::AssertionFailure() << "createPath " << path << ": not connected";
  if (path.empty() || path[0] != '/') return ::testing::AssertionFailure() << "bad path " << path;
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    int rc =
        zoo_create(zh_, prefix.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, nullptr, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) return failure("create", prefix, rc);
    if (slash == std::string::npos) break;
  }
  return ::testing::AssertionSuccess();
}

Result<std::string> ZkTestClient::create(const std::string& path, const std::string& data,
                                         ZkNodeMode mode) {
  if (zh_ == nullptr) return makeError("create " + path + ": not connected");
  std::string created(path.size() + 32, '\0');  // room for the 10-digit sequence suffix
  int rc = zoo_create(zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                      &ZOO_OPEN_ACL_UNSAFE, createFlags(mode), created.data(),
                      static_cast<int>(created.size()));
  if (rc != ZOK) return makeError(errorText("create", path, rc));
  created.resize(std::strlen(created.c_str()));
  return created;
}

::testing::AssertionResult ZkTestClient::set(const std::string& path, const std::string& data) {
  if (zh_ == nullptr) return ::testing::AssertionFailure() << "set " << path << ": not connected";
  int rc = zoo_set(zh_, path.c_str(), data.data(), static_cast<int>(data.size()), -1);
  if (rc != ZOK) return failure("set", path, rc);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ZkTestClient::remove(const std::string& path) {
  if (zh_ == nullptr)
    return ::testing::AssertionFailure() << "remove " << path << ": not connected";
  int rc = zoo_delete(zh_, path.c_str(), -1);
  if (rc != ZOK) return failure("delete", path, rc);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ZkTestClient::removeRecursive(const std::string& path) {
  auto kids = children(path);
  if (!kids.ok()) {
    if (kids.error().message.find(zerror(ZNONODE)) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << kids.error().message;
  }
  for (const auto& kid : *kids) {
    if (auto r = removeRecursive(path == "/" ? "/" + kid : path + "/" + kid); !r) return r;
  }
  if (path == "/") return ::testing::AssertionSuccess();
  int rc = zoo_delete(zh_, path.c_str(), -1);
  if (rc != ZOK && rc != ZNONODE) return failure("delete", path, rc);
  return ::testing::AssertionSuccess();
}

Result<bool> ZkTestClient::exists(const std::string& path) {
  if (zh_ == nullptr) return makeError("exists " + path + ": not connected");
  Stat stat{};
  int rc = zoo_exists(zh_, path.c_str(), 0, &stat);
  if (rc == ZOK) return true;
  if (rc == ZNONODE) return false;
  return makeError(errorText("exists", path, rc));
}

Result<std::vector<std::string>> ZkTestClient::children(const std::string& path) {
  if (zh_ == nullptr) return makeError("children " + path + ": not connected");
  String_vector kids{};
  int rc = zoo_get_children(zh_, path.c_str(), 0, &kids);
  if (rc != ZOK) return makeError(errorText("get children of", path, rc));
  std::vector<std::string> out(kids.data, kids.data + kids.count);
  deallocate_String_vector(&kids);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> ZkTestClient::get(const std::string& path) {
  if (zh_ == nullptr) return makeError("get " + path + ": not connected");
  // Size the buffer from the node's stat; retry if the node grew in between.
  for (int attempt = 0; attempt < 5; ++attempt) {
    Stat stat{};
    int rc = zoo_exists(zh_, path.c_str(), 0, &stat);
    if (rc != ZOK) return makeError(errorText("get", path, rc));
    std::string data(static_cast<size_t>(stat.dataLength) + 1, '\0');
    int len = static_cast<int>(data.size());
    rc = zoo_get(zh_, path.c_str(), 0, data.data(), &len, &stat);
    if (rc != ZOK) return makeError(errorText("get", path, rc));
    if (len < 0) return std::string();  // a node with null data
    if (len < static_cast<int>(data.size())) {
      data.resize(static_cast<size_t>(len));
      return data;
    }
  }
  return makeError("get " + path + ": data keeps changing size");
}

::testing::AssertionResult ZkTestClient::expireSession(const std::string& connect_string,
                                                       const clientid_t& id,
                                                       std::chrono::milliseconds wait) {
  configureClientLogging();
  // Attaching a second handle moves the session's connection to it; the owner, disconnected,
  // reconnects and takes it back, and a handle that is not connected when closed sends no
  // closeSession. So attach and close until an attach finds the session expired: that both
  // retries the race and proves the expiry.
  auto deadline = std::chrono::steady_clock::now() + wait;
  int attempts = 0;
  int last = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    ExpiryHandleState s;
    zhandle_t* zh = zookeeper_init(connect_string.c_str(), &expiryWatcher, 4000, &id, &s, 0);
    if (zh == nullptr) {
      return ::testing::AssertionFailure()
             << "zookeeper_init(" << connect_string << "): " << std::strerror(errno);
    }
    {
      std::unique_lock lock(s.mutex);
      s.changed.wait_until(lock, deadline, [&] {
        return s.state == ZOO_CONNECTED_STATE || s.state == ZOO_EXPIRED_SESSION_STATE;
      });
      last = s.state;
    }
    zookeeper_close(zh);  // sends closeSession when still connected
    ++attempts;
    if (last == ZOO_EXPIRED_SESSION_STATE) {
      if (attempts == 1) {
        return ::testing::AssertionFailure()
               << "session 0x" << std::hex << id.client_id << " had already expired";
      }
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "session 0x" << std::hex << id.client_id << " not expired within " << std::dec
         << wait.count() << " ms (" << attempts << " attempts, last state " << last << ")";
}

}  // namespace switchyard::support
