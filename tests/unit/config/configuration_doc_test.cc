// docs/configuration.md cannot drift from the loader: its key set must be the loader's, and every
// default it writes in backquotes must be what the loader fills in.
//
// The loader's keys are asked of the loader itself, not copied here: a map given a key it does
// not know answers "unknown key ... (expected one of K1, K2, ...)", listing exactly the keys it
// validates with. Starting from the top-level map, each key is then given a map (and a list of
// one map) holding an unknown key: when that draws the same answer, the key is a section and its
// own keys are listed the same way. The defaults come from `toYaml` of a file that sets nothing
// but what is required, as `GET /config` shows them.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "config/config_yaml.h"

namespace switchyard::config {
namespace {

// No key is near it, so the loader lists every key rather than suggesting one.
constexpr const char* kProbeKey = "zqxjzqxjzqxj";

// Every section that has defaults present, so that toYaml writes them: zookeeper, a health
// check, upstream TLS, an h2c cluster (its http2 keys), a ServerSet (its format) and the
// access log.
constexpr const char* kBase = R"(zookeeper:
  servers: "127.0.0.1:2181"
listeners:
  - name: web
    address: "127.0.0.1:8080"
    routes:
      - cluster: app
clusters:
  - name: app
    discovery:
      static: ["127.0.0.1:9001"]
    health_check: {}
    tls: {}
  - name: app2
    discovery:
      static: ["127.0.0.1:9002"]
    protocol: h2c
  - name: app3
    discovery:
      serverset: /app3
access_log: {}
)";

std::string docPath() { return std::string(SWITCHYARD_SOURCE_DIR) + "/docs/configuration.md"; }

// "listeners[].routes[]" -> {"listeners", "[]", "routes", "[]"}.
std::vector<std::string> stepsOf(const std::string& path) {
  std::vector<std::string> steps;
  std::string part;
  for (char c : path + ".") {
    if (c == '.' || c == '[') {
      if (!part.empty()) steps.push_back(part);
      part.clear();
      if (c == '[') steps.push_back("[]");
    } else if (c != ']') {
      part += c;
    }
  }
  return steps;
}

// The loader's name for a path: the first item of every list.
std::string loaderPath(const std::string& path) {
  return std::regex_replace(path, std::regex("\\[\\]"), "[0]");
}

std::string join(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}

// A copy of `base` with `value` at `path`; missing maps and first list items are made on the way.
YAML::Node withValue(const YAML::Node& base, const std::string& path, const YAML::Node& value) {
  YAML::Node root = YAML::Clone(base);
  const auto steps = stepsOf(path);
  YAML::Node node = root;  // reset() rebinds; assignment would overwrite the referred node
  for (size_t i = 0; i < steps.size(); ++i) {
    const bool last = i + 1 == steps.size();
    if (steps[i] == "[]") {
      if (!node.IsSequence() || node.size() == 0) node = YAML::Node(YAML::NodeType::Sequence);
      if (node.size() == 0) node.push_back(YAML::Node(YAML::NodeType::Map));
      if (last) {
        node[0] = value;
        break;
      }
      if (!node[0].IsMap()) node[0] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next = node[0];
      node.reset(next);
    } else {
      if (last) {
        node[steps[i]] = value;
        break;
      }
      if (!node[steps[i]].IsMap() && !node[steps[i]].IsSequence())
        node[steps[i]] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next = node[steps[i]];
      node.reset(next);
    }
  }
  return root;
}

// The keys the loader lists for the map at `path` (`path` itself given a map with an unknown
// key), or nothing when `path` is no map of known keys.
std::vector<std::string> loaderKeysAt(const YAML::Node& base, const std::string& path,
                                      const YAML::Node& value_with_probe,
                                      const std::string& probe_path) {
  YAML::Node doc;
  if (path.empty()) {
    doc = YAML::Clone(base);
    doc[kProbeKey] = 1;
  } else {
    doc = withValue(base, path, value_with_probe);
  }
  YAML::Emitter out;
  out << doc;
  const LoadResult r = loadConfigString(out.c_str(), "probe.yaml");
  static const std::regex kExpected(R"re(^unknown key "[^"]*" \(expected one of (.*)\)$)re");
  for (const auto& e : r.errors) {
    std::smatch m;
    if (e.path != probe_path || !std::regex_match(e.message, m, kExpected)) continue;
    std::vector<std::string> keys;
    std::stringstream list(m[1].str());
    for (std::string key; std::getline(list, key, ',');)
      keys.push_back(key.substr(key.find_first_not_of(' ')));
    return keys;
  }
  return {};
}

// Every key path the loader accepts, sections included ("clusters[].retries", then its keys).
void collectLoaderKeys(const YAML::Node& base, const std::string& path, std::set<std::string>& out,
                       int depth = 0) {
  ASSERT_LT(depth, 8) << "runaway recursion at " << path;
  YAML::Node probe_map(YAML::NodeType::Map);
  probe_map[kProbeKey] = 1;
  const auto keys = loaderKeysAt(base, path, probe_map, join(loaderPath(path), kProbeKey));
  if (path.empty()) {
    ASSERT_FALSE(keys.empty()) << "the loader did not list its top-level keys";
  }
  for (const auto& key : keys) {
    const std::string key_path = join(path, key);
    out.insert(key_path);
    // A section: its map answers with its own list of keys.
    if (!loaderKeysAt(base, key_path, probe_map, join(loaderPath(key_path), kProbeKey)).empty()) {
      collectLoaderKeys(base, key_path, out, depth + 1);
      continue;
    }
    // A list of sections: its first item does.
    YAML::Node probe_list(YAML::NodeType::Sequence);
    probe_list.push_back(probe_map);
    if (!loaderKeysAt(base, key_path, probe_list, join(loaderPath(key_path) + "[0]", kProbeKey))
             .empty()) {
      out.insert(key_path + "[]");  // not a key of its own: removed below
      collectLoaderKeys(base, key_path + "[]", out, depth + 1);
    }
  }
}

std::set<std::string> loaderKeys() {
  std::set<std::string> keys;
  collectLoaderKeys(YAML::Load(kBase), "", keys);
  std::erase_if(keys, [](const std::string& k) { return k.ends_with("[]"); });
  return keys;
}

struct DocRow {
  std::string default_cell;
  int line = 0;
};

// The rows of the reference tables: | `key.path` | type | default | ... (header rows excluded).
std::map<std::string, DocRow> docRows() {
  std::ifstream in(docPath());
  EXPECT_TRUE(in) << "cannot read " << docPath();
  std::map<std::string, DocRow> rows;
  static const std::regex kRow(R"(^\| `([a-z_\[\]\.0-9]+)` \|([^|]*)\|([^|]*)\|)");
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    std::smatch m;
    if (!std::regex_search(line, m, kRow)) continue;
    EXPECT_FALSE(rows.contains(m[1].str()))
        << "docs/configuration.md:" << line_no << ": " << m[1] << " is listed twice";
    rows[m[1].str()] = {m[3].str(), line_no};
  }
  return rows;
}

// toYaml's text flattened to key path -> value ("[a, b]" for a list of scalars); list items
// merge into "KEY[]" (the first item that has a key gives its value).
void flatten(const YAML::Node& node, const std::string& path,
             std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it)
      flatten(it->second, join(path, it->first.Scalar()), out);
  } else if (node.IsSequence()) {
    bool scalars = true;
    for (const auto& item : node) scalars = scalars && item.IsScalar();
    if (scalars) {
      std::string text = "[";
      for (size_t i = 0; i < node.size(); ++i) text += (i ? ", " : "") + node[i].Scalar();
      out.emplace(path, text + "]");
      return;
    }
    for (const auto& item : node) flatten(item, path + "[]", out);
  } else if (node.IsScalar()) {
    out.emplace(path, node.Scalar());
  }
}

TEST(ConfigurationDocTest, ListsExactlyTheKeysTheLoaderAccepts) {
  const std::set<std::string> loader = loaderKeys();
  // Sanity: the probe reaches deep sections (a broken probe must not pass with an empty set).
  ASSERT_TRUE(loader.contains("clusters[].retries.per_try_timeout_ms"));
  ASSERT_TRUE(loader.contains("listeners[].routes[].split[].weight"));
  ASSERT_TRUE(loader.contains("clusters[].discovery.static[].address"));
  const auto rows = docRows();
  for (const auto& key : loader)
    EXPECT_TRUE(rows.contains(key))
        << "the loader accepts " << key << ", which docs/configuration.md does not list";
  for (const auto& [key, row] : rows)
    EXPECT_TRUE(loader.contains(key)) << "docs/configuration.md:" << row.line << " lists " << key
                                      << ", which the loader does not accept";
}

TEST(ConfigurationDocTest, DefaultsInBackquotesAreTheLoaders) {
  const LoadResult r = loadConfigString(kBase, "base.yaml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
  std::map<std::string, std::string> actual;
  flatten(YAML::Load(toYaml(r.config)), "", actual);

  int checked = 0;
  static const std::regex kDefault(R"(^\s*`([^`]*)`\s*$)");
  for (const auto& [key, row] : docRows()) {
    std::smatch m;
    // Only a cell that is one backquoted value is a default to check ("none: `...`" is prose).
    if (!std::regex_match(row.default_cell, m, kDefault)) continue;
    std::string documented = m[1].str();
    if (documented == "\"\"") documented.clear();
    const auto it = actual.find(key);
    if (it == actual.end()) {
      ADD_FAILURE() << "docs/configuration.md:" << row.line << ": " << key << " has default `"
                    << documented << "`, but the loader's defaults (toYaml) do not show it";
      continue;
    }
    EXPECT_EQ(documented, it->second)
        << "docs/configuration.md:" << row.line << ": the default of " << key;
    ++checked;
  }
  // Most keys have a default: a table format change that silently skips them all must fail.
  EXPECT_GE(checked, 30);
}

}  // namespace
}  // namespace switchyard::config
