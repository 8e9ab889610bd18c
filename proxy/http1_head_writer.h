#pragma once
// Serialises the heads the proxy sends: the request to an upstream and the response to a client,
// rewritten from what was parsed (hop-by-hop fields dropped, framing and forwarding fields set),
// and the gateway's own error answers. Appends to a caller-owned string so that its capacity is
// reused from request to request.

#include <string>
#include <string_view>

#include "proxy/http1_parser.h"

namespace switchyard::proxy {

struct UpstreamRequestInfo {
  std::string_view client_ip;          // appended to X-Forwarded-For
  std::string_view proto = "http";     // X-Forwarded-Proto
  std::string_view default_host;       // Host to send when the client sent none (HTTP/1.0)
  bool upgrade = false;                // forward Upgrade + Connection: upgrade
};

// The request head for the upstream, always HTTP/1.1 and keep-alive. A chunked request body is
// re-framed as chunked; a Content-Length body keeps its length.
void writeUpstreamRequestHead(std::string& out, const ParseEvents& request,
                              const UpstreamRequestInfo& info);

enum class ResponseFraming {
  kNone,           // no body (HEAD, 1xx, 204, 304)
  kContentLength,  // the upstream's Content-Length is kept
  kChunked,        // the body is (re-)framed as chunked
  kClose,          // HTTP/1.0 client, unknown length: the body ends with the connection
};

// How the body of `response` must be framed for a client speaking HTTP/1.`client_minor`.
ResponseFraming chooseResponseFraming(const ParseEvents& response, bool head_request,
                                      int client_version);

// The response head for the client. `keep_alive` false adds Connection: close.
void writeDownstreamResponseHead(std::string& out, const ParseEvents& response,
                                 std::string_view reason, ResponseFraming framing,
                                 bool keep_alive, int client_version);

// The gateway's own answer: status, a plain-text body saying what happened, and
// x-switchyard-error naming the cause ("connect-failure", "no-healthy-instance", ...).
void writeErrorResponse(std::string& out, unsigned status, std::string_view cause,
                        std::string_view detail, bool keep_alive, bool head_request = false);

// Chunk framing helpers.
void appendChunkHeader(std::string& out, std::size_t size);  // "<hex>\r\n"
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

// True for fields a proxy must not forward (RFC 9110 7.6.1), or that it rewrites itself.
bool isHopByHop(const HeaderField& f);
// True when `name` is listed as a token in any Connection field of `fields`.
bool listedInConnection(const std::vector<HeaderField>& fields, std::string_view name);
// The first value of a field, if present.
std::optional<std::string_view> findField(const std::vector<HeaderField>& fields,
                                          http::field id);
std::optional<std::string_view> findField(const std::vector<HeaderField>& fields,
                                          std::string_view lower_name);
// True when a Connection field lists `token` (case-insensitive).
bool connectionHas(const std::vector<HeaderField>& fields, std::string_view token);

}  // namespace switchyard::proxy
