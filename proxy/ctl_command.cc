#include "proxy/ctl_command.h"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "common/host_port.h"

namespace switchyard::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Json = nlohmann::json;

Result<CtlResponse> adminRequest(const std::string& admin, const std::string& method,
                                 const std::string& target, const std::string& body,
                                 const std::string& token, std::chrono::milliseconds timeout) {
  auto address = parseHostPort(admin);
  if (!address) return makeError("--admin \"" + admin + "\": " + address.error().message);
  // Asynchronous operations on a private io_context run for at most `timeout`: a gateway that
  // accepts and never answers cannot hang the command.
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, admin);
  request.set(http::field::user_agent, "switchyard-ctl");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = body;
  request.prepare_payload();
  http::response<http::string_body> response;
  std::optional<error_code> failure;
  std::string step = "resolve";
  bool done = false;
  stream.expires_after(timeout);
  resolver.async_resolve(address.value().host, std::to_string(address.value().port),
                         [&](error_code ec, tcp::resolver::results_type results) {
                           if (ec) return void(failure = ec);
                           step = "connect to";
                           stream.async_connect(results, [&](error_code ec, const tcp::endpoint&) {
                             if (ec) return void(failure = ec);
                             step = "send to";
                             http::async_write(stream, request, [&](error_code ec, size_t) {
                               if (ec) return void(failure = ec);
                               step = "read the answer of";
                               http::async_read(stream, buffer, response,
                                                [&](error_code ec, size_t) {
                                                  if (ec) return void(failure = ec);
                                                  done = true;
                                                });
                             });
                           });
                         });
  io.run_for(timeout + std::chrono::milliseconds(100));
  if (!done && !failure) failure = beast::error::timeout;
  if (failure) {
    const std::string why = *failure == beast::error::timeout
                                ? fmt::format("no answer within {} ms", timeout.count())
                                : failure->message();
    return makeError("cannot " + step + " the admin API at " + admin + ": " + why);
  }
  return CtlResponse{response.result_int(), std::move(response.body())};
}

Result<std::string> renderClustersTable(const std::string& clusters_json) {
  Json doc = Json::parse(clusters_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("clusters") ||
      !doc["clusters"].is_array())
    return makeError("the gateway's /clusters answer is not the expected JSON document");
  auto num = [](const Json& i, const char* key) -> std::string {
    if (!i.contains(key)) return "-";
    const Json& v = i[key];
    if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  std::string out;
  for (const auto& c : doc["clusters"]) {
    out +=
        fmt::format("cluster {}  ({}, {}{})\n", c.value("name", "?"), c.value("load_balancer", "?"),
                    c.value("discovery", "?"), c.value("ready", false) ? "" : ", not read yet");
    std::vector<std::array<std::string, 8>> rows;
    rows.push_back(
        {"INSTANCE", "SHARD", "STATUS", "WEIGHT", "HEALTH", "IN-FLIGHT", "REQUESTS", "P99 MS"});
    for (const auto& i : c.value("instances", Json::array())) {
      std::string status = i.value("status", "?");
      if (i.value("operator_drained", false)) status += " (operator)";
      rows.push_back({i.value("address", "?"), num(i, "shard"), status, num(i, "weight"),
                      i.contains("health") ? num(i, "health") : "-", num(i, "in_flight"),
                      num(i, "requests"), num(i, "latency_p99_ms")});
    }
    std::array<size_t, 8> width{};
    for (const auto& r : rows)
      for (size_t k = 0; k < r.size(); ++k) width[k] = std::max(width[k], r[k].size());
    for (const auto& r : rows) {
      std::string line = "  ";
      for (size_t k = 0; k < r.size(); ++k)
        line += fmt::format("{:<{}}", r[k], k + 1 < r.size() ? width[k] + 2 : 0);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    if (rows.size() == 1) out += "  (no instance)\n";
  }
  return out;
}

CtlCommand::CtlCommand(CLI::App& app) {
  command_ = app.add_subcommand("ctl", "Operator commands against a running gateway's admin API");
  command_->add_option("--admin", admin_, "The gateway's admin address, HOST:PORT")->required();
  command_->add_option("--token-file", token_file_,
                       "A file holding the bearer token (admin.token_file of the gateway)");
  command_->add_option("--timeout-ms", timeout_ms_, "Give up after this long (default 5000)")
      ->check(CLI::Range(1u, 600000u));
  command_->require_subcommand(1);
  clusters_ = command_->add_subcommand("clusters", "Every cluster's instances, as a table");
  weight_ = command_->add_subcommand("weight", "Set an instance's operator weight (0 to 100)");
  weight_->add_option("cluster", cluster_, "Cluster name")->required();
  weight_->add_option("instance", instance_, "Instance HOST:PORT")->required();
  weight_->add_option("weight", weight_value_, "Weight, 0 to 100 (1 = normal, 0 = no traffic)")
      ->required();
  drain_ = command_->add_subcommand("drain", "Drain an instance (no new traffic) until undrain");
  undrain_ = command_->add_subcommand("undrain", "Undo an operator drain");
  for (auto* sub : {drain_, undrain_}) {
    sub->add_option("cluster", cluster_, "Cluster name")->required();
    sub->add_option("instance", instance_, "Instance HOST:PORT")->required();
  }
  split_ = command_->add_subcommand("split", "Set a route's weighted split between clusters");
  split_->add_option("listener", listener_, "Listener name")->required();
  split_->add_option("index", route_, "Route index in the listener, from 0")->required();
  split_->add_option("targets", targets_, "CLUSTER=WEIGHT, one or more")->required();
}

int CtlCommand::run() {
  if (clusters_->parsed()) {
    auto r =
        adminRequest(admin_, "GET", "/clusters", "", "", std::chrono::milliseconds(timeout_ms_));
    if (!r) {
      std::cerr << "switchyard ctl: " << r.error().message << "\n";
      return 1;
    }
    if (r.value().status != 200) {
      std::cerr << "switchyard ctl: the gateway answered " << r.value().status << ": "
                << r.value().body;
      return 1;
    }
    auto table = renderClustersTable(r.value().body);
    if (!table) {
      std::cerr << "switchyard ctl: " << table.error().message << "\n";
      return 1;
    }
    std::cout << table.value();
    return 0;
  }
  const std::string instance_path = "/clusters/" + cluster_ + "/instances/" + instance_;
  if (weight_->parsed())
    return post(instance_path + "/weight", Json{{"weight", weight_value_}}.dump());
  if (drain_->parsed()) return post(instance_path + "/drain", "{}");
  if (undrain_->parsed()) return post(instance_path + "/undrain", "{}");
  if (split_->parsed()) {
    Json split = Json::array();
    for (const auto& t : targets_) {
      const auto eq = t.rfind('=');
      uint32_t w = 0;
      std::istringstream in(eq == std::string::npos ? "" : t.substr(eq + 1));
      if (eq == std::string::npos || eq == 0 || !(in >> w) || !in.eof()) {
        std::cerr << "switchyard ctl split: \"" << t
                  << "\": expected CLUSTER=WEIGHT (an integer)\n";
        return 2;
      }
      split.push_back({{"cluster", t.substr(0, eq)}, {"weight", w}});
    }
    return post("/routes/" + listener_ + "/" + std::to_string(route_) + "/split",
                Json{{"split", split}}.dump());
  }
  return 2;
}

int CtlCommand::post(const std::string& target, const std::string& body) {
  std::string token;
  if (!token_file_.empty()) {
    std::ifstream in(token_file_);
    if (!in) {
      std::cerr << "switchyard ctl: --token-file " << token_file_ << ": cannot be read\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    token = text.str();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
  }
  auto r =
      adminRequest(admin_, "POST", target, body, token, std::chrono::milliseconds(timeout_ms_));
  if (!r) {
    std::cerr << "switchyard ctl: " << r.error().message << "\n";
    return 1;
  }
  Json doc = Json::parse(r.value().body, nullptr, false);
  if (r.value().status != 200) {
    const std::string message = !doc.is_discarded() && doc.is_object() && doc.contains("error")
                                    ? doc["error"].get<std::string>()
                                    : r.value().body;
    std::cerr << "switchyard ctl: " << r.value().status << ": " << message << "\n";
    return 1;
  }
  std::cout << r.value().body;
  return 0;
}

}  // namespace switchyard::proxy
