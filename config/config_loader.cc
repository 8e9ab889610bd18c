// The loader's driver: parses the text, reads the top-level sections, runs the cross-reference
// checks, and hands back the config with every error found.

#include "config/config_loader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config_reader.h"
#include "config/section_readers.h"

namespace switchyard::config {

namespace detail {

std::string LoadContext::resolve(const std::string& file) const {
  if (file.empty()) return file;
  const std::filesystem::path p(file);
  if (p.is_absolute()) return file;
  return (base_dir / p).lexically_normal().string();
}

std::string toLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace detail

namespace {

using detail::LoadContext;

constexpr uint64_t kMaxWorkers = 1024;

bool isLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// "h1:2181,h2:2181/chroot": every host is HOST:PORT; the optional chroot is an absolute path.
void checkConnectString(const MapReader& z, const std::string& servers, Diagnostics& diag) {
  const std::string path = z.pathOf("servers");
  const auto slash = servers.find('/');
  const std::string hosts = servers.substr(0, slash);
  if (slash != std::string::npos) {
    const std::string chroot = servers.substr(slash);
    if (chroot.size() < 2 || chroot.back() == '/')
      diag.errorAt(path, "bad chroot \"" + chroot + "\" (expected /PATH without a trailing /)");
  }
  std::istringstream in(hosts);
  std::string host;
  int count = 0;
  while (std::getline(in, host, ',')) {
    ++count;
    if (auto parsed = parseHostPort(host); !parsed)
      diag.errorAt(path, "bad ZooKeeper server: " + parsed.error().message);
  }
  if (count == 0) diag.errorAt(path, "expected HOST:PORT[,HOST:PORT...][/chroot]");
}

void readZooKeeper(const MapReader& root, Diagnostics& diag, Config& config) {
  MapReader z(root.get("zookeeper"), "zookeeper", diag, {"servers", "session_timeout_ms"});
  if (!z.valid()) return;
  ZooKeeper zk;
  if (z.require("servers")) {
    const size_t before = diag.count();
    z.readString("servers", zk.servers);
    if (diag.count() == before) checkConnectString(z, zk.servers, diag);
  }
  z.readUint32("session_timeout_ms", zk.session_timeout_ms, 1);
  config.zookeeper = zk;
}

void readWorkers(const MapReader& root, Diagnostics& diag, Config& config) {
  const YAML::Node node = root.get("workers");
  if (node.IsScalar() && node.Scalar() == "auto") {
    config.workers = 0;
    return;
  }
  if (!node.IsScalar() || node.Scalar().empty() ||
      node.Scalar().find_first_not_of("+-0123456789") != std::string::npos) {
    diag.error(placeOf(node), "workers", "expected auto or a whole number, got " + describe(node));
    return;
  }
  if (auto n = readUnsigned(node, "workers", diag, 1, kMaxWorkers))
    config.workers = static_cast<uint32_t>(*n);
}

void readWeights(const MapReader& root, Diagnostics& diag, Config& config) {
  MapReader w(root.get("weights"), "weights", diag, {"zookeeper_path"});
  Weights weights;
  if (w.valid() && w.require("zookeeper_path")) {
    w.readString("zookeeper_path", weights.zookeeper_path);
    const std::string& p = weights.zookeeper_path;
    if (!p.empty() && p != "serverset" && (p.front() != '/' || p.size() < 2 || p.back() == '/'))
      diag.errorAt(
          w.pathOf("zookeeper_path"),
          "expected a ZooKeeper path such as /switchyard/weights, or serverset; got \"" + p + "\"");
  }
  config.weights = weights;
}

void readAdmin(const MapReader& root, const LoadContext& ctx, Config& config) {
  MapReader a(root.get("admin"), "admin", ctx.diag, {"address", "token_file"});
  if (!a.valid()) return;
  // Port 0 picks a free port (tests); the gateway logs the one it got.
  a.readHostPort("address", config.admin.address, /*allow_zero_port=*/true);
  a.readString("token_file", config.admin.token_file);
  config.admin.token_file = ctx.resolve(config.admin.token_file);
  if (!isLoopback(config.admin.address.host) && config.admin.token_file.empty() &&
      !a.has("token_file"))
    ctx.diag.errorAt("admin.address", "admin.token_file is required when the admin address (" +
                                          config.admin.address.str() + ") is not on loopback");
}

void readAccessLog(const MapReader& root, const LoadContext& ctx, Config& config) {
  MapReader l(root.get("access_log"), "access_log", ctx.diag, {"path", "format"});
  if (!l.valid()) return;
  l.readString("path", config.access_log.path, /*allow_empty=*/true);  // empty = off
  if (config.access_log.path != "-") config.access_log.path = ctx.resolve(config.access_log.path);
  l.readEnum("format", config.access_log.format, NameTable<AccessLogFormat>(kAccessLogFormatNames));
}

void readConfig(const YAML::Node& root_node, const LoadContext& ctx, Config& config) {
  Diagnostics& diag = ctx.diag;
  if (root_node.IsNull()) {
    diag.error(root_node.Mark(), "",
               "the configuration is empty: at least one listener is required");
    return;
  }
  MapReader root(
      root_node, "", diag,
      {"zookeeper", "workers", "listeners", "clusters", "weights", "admin", "access_log"});
  if (!root.valid()) return;
  if (root.has("zookeeper")) readZooKeeper(root, diag, config);
  if (root.has("workers")) readWorkers(root, diag, config);
  if (root.require("listeners"))
    detail::readListeners(root.get("listeners"), "listeners", ctx, config.listeners);
  if (root.has("clusters"))
    detail::readClusters(root.get("clusters"), "clusters", ctx, config.clusters);
  if (root.has("weights")) readWeights(root, diag, config);
  if (root.has("admin")) readAdmin(root, ctx, config);
  if (root.has("access_log")) readAccessLog(root, ctx, config);
}

}  // namespace

std::string ConfigError::str() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

LoadResult loadConfigString(const std::string& yaml, const std::string& name,
                            const std::string& base_dir) {
  Diagnostics diag(name);
  LoadResult result;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    // The parser stops at its first syntax error: that one is all there is to report.
    diag.error(e.mark, "", "YAML syntax error: " + e.msg);
    result.errors = diag.take();
    return result;
  }
  const LoadContext ctx{diag, std::filesystem::path(base_dir.empty() ? "." : base_dir)};
  try {
    readConfig(root, ctx, result.config);
    detail::validateConfig(result.config, diag);
  } catch (const YAML::Exception& e) {
    // Not expected (every reader checks node types first); kept so no exception escapes.
    diag.error(e.mark, "", std::string("cannot read the configuration: ") + e.what());
  }
  result.errors = diag.take();
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.errors.push_back({path, 0, 0, "", std::string("cannot read: ") + std::strerror(errno)});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  // Relative names resolve against the file's directory, made absolute so that a reload after
  // a change of working directory still finds them.
  std::error_code ec;
  auto dir = std::filesystem::absolute(std::filesystem::path(path), ec).parent_path();
  if (ec) dir = std::filesystem::path(path).parent_path();
  LoadResult result = loadConfigString(text.str(), path, dir.string());
  result.config.source_path = path;
  return result;
}

}  // namespace switchyard::config
