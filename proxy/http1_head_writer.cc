#include "proxy/http1_head_writer.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>

namespace switchyard::proxy {

namespace {

using boost::beast::iequals;

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append(kCrlf);
}

void appendNumber(std::string& out, uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// Iterates the comma-separated tokens of a field value, trimmed.
template <class F>
void forEachToken(std::string_view v, F&& f) {
  while (!v.empty()) {
    auto comma = v.find(',');
    auto tok = v.substr(0, comma);
    while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
    if (!tok.empty() && f(tok)) return;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

bool hasConnectionField(const std::vector<HeaderField>& fields) {
  for (const auto& f : fields)
    if (f.id == http::field::connection || f.id == http::field::proxy_connection) return true;
  return false;
}

// Fields forwarded in both directions: everything but hop-by-hop ones and those named in
// Connection. `skip` drops more (the forwarding fields the proxy rewrites).
template <class Skip>
void appendEndToEndFields(std::string& out, const std::vector<HeaderField>& fields, Skip&& skip) {
  const bool has_connection = hasConnectionField(fields);
  for (const auto& f : fields) {
    if (isHopByHop(f) || skip(f)) continue;
    if (has_connection && listedInConnection(fields, f.name)) continue;
    appendField(out, f.name, f.value);
  }
}

}  // namespace

bool isHopByHop(const HeaderField& f) {
  switch (f.id) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
      return true;
    default:
      return false;
  }
}

bool listedInConnection(const std::vector<HeaderField>& fields, std::string_view name) {
  bool found = false;
  for (const auto& f : fields) {
    if (f.id != http::field::connection && f.id != http::field::proxy_connection) continue;
    forEachToken(f.value, [&](std::string_view tok) { return found = iequals(tok, name); });
    if (found) return true;
  }
  return false;
}

bool connectionHas(const std::vector<HeaderField>& fields, std::string_view token) {
  return listedInConnection(fields, token);
}

std::optional<std::string_view> findField(const std::vector<HeaderField>& fields,
                                          http::field id) {
  for (const auto& f : fields)
    if (f.id == id) return f.value;
  return std::nullopt;
}

std::optional<std::string_view> findField(const std::vector<HeaderField>& fields,
                                          std::string_view lower_name) {
  for (const auto& f : fields)
    if (iequals(f.name, lower_name)) return f.value;
  return std::nullopt;
}

void appendChunkHeader(std::string& out, std::size_t size) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, size, 16);
  out.append(buf, end);
  out.append(kCrlf);
}

void writeUpstreamRequestHead(std::string& out, const ParseEvents& request,
                              const UpstreamRequestInfo& info) {
  out.append(request.method_text);
  out.push_back(' ');
  out.append(request.target);
  out.append(" HTTP/1.1\r\n");
  std::optional<std::string_view> xff;
  bool has_host = false;
  appendEndToEndFields(out, request.fields, [&](const HeaderField& f) {
    if (iequals(f.name, "x-forwarded-for")) {
      // Several X-Forwarded-For fields are one list; keep the first and append ours to it.
      if (!xff) xff = f.value;
      return true;
    }
    if (f.id == http::field::host) has_host = true;
    return iequals(f.name, "x-forwarded-proto");
  });
  if (!has_host && !info.default_host.empty()) appendField(out, "host", info.default_host);
  out.append("x-forwarded-for: ");
  if (xff && !xff->empty()) {
    out.append(*xff);
    out.append(", ");
  }
  out.append(info.client_ip);
  out.append(kCrlf);
  appendField(out, "x-forwarded-proto", info.proto);
  if (request.chunked) out.append("transfer-encoding: chunked\r\n");
  if (info.upgrade) {
    if (auto up = findField(request.fields, http::field::upgrade)) appendField(out, "upgrade", *up);
    out.append("connection: upgrade\r\n");
  }
  out.append(kCrlf);
}

ResponseFraming chooseResponseFraming(const ParseEvents& response, bool head_request,
                                      int client_version) {
  const unsigned s = response.status;
  if (head_request || (s >= 100 && s < 200) || s == 204 || s == 304)
    return ResponseFraming::kNone;
  if (response.content_length && !response.chunked) return ResponseFraming::kContentLength;
  return client_version >= 11 ? ResponseFraming::kChunked : ResponseFraming::kClose;
}

void writeDownstreamResponseHead(std::string& out, const ParseEvents& response,
                                 std::string_view reason, ResponseFraming framing,
                                 bool keep_alive, int client_version) {
  out.append(client_version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  appendNumber(out, response.status);
  out.push_back(' ');
  if (reason.empty()) {
    auto r = http::obsolete_reason(static_cast<http::status>(response.status));
    out.append(r.data(), r.size());
  } else {
    out.append(reason);
  }
  out.append(kCrlf);
  const bool is_upgrade = response.status == 101;
  appendEndToEndFields(out, response.fields, [&](const HeaderField& f) {
    // A HEAD or 304 answer keeps the Content-Length it would have had; so does kContentLength.
    return false;
  });
  if (is_upgrade) {
    if (auto up = findField(response.fields, http::field::upgrade))
      appendField(out, "upgrade", *up);
    out.append("connection: upgrade\r\n");
  } else if (response.status >= 200) {
    if (framing == ResponseFraming::kChunked) out.append("transfer-encoding: chunked\r\n");
    if (!keep_alive || framing == ResponseFraming::kClose)
      out.append("connection: close\r\n");
    else if (client_version == 10)
      out.append("connection: keep-alive\r\n");
  }
  out.append(kCrlf);
}

void writeErrorResponse(std::string& out, unsigned status, std::string_view cause,
                        std::string_view detail, bool keep_alive, bool head_request) {
  auto reason = http::obsolete_reason(static_cast<http::status>(status));
  std::string body;
  body.reserve(reason.size() + detail.size() + 8);
  body.append(reason.data(), reason.size());
  if (!detail.empty()) {
    body.append(": ");
    body.append(detail);
  }
  body.push_back('\n');
  out.append("HTTP/1.1 ");
  appendNumber(out, status);
  out.push_back(' ');
  out.append(reason.data(), reason.size());
  out.append("\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ");
  appendNumber(out, body.size());
  out.append("\r\nx-switchyard-error: ");
  out.append(cause);
  out.append(kCrlf);
  if (!keep_alive) out.append("connection: close\r\n");
  out.append(kCrlf);
  if (!head_request) out.append(body);
}

}  // namespace switchyard::proxy
