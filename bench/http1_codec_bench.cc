// The HTTP/1.1 hot path without sockets: parsing a typical request head and writing the head
// sent upstream, and parsing a typical response and writing the head sent back.

#include <benchmark/benchmark.h>

#include "proxy/http1_head_writer.h"
#include "proxy/http1_parser.h"

namespace switchyard::proxy {
namespace {

const std::string kRequest =
    "GET /api/v2/users/12345?fields=name,email HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n"
    "Accept: application/json\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Cookie: session=0123456789abcdef; theme=dark\r\n"
    "X-Request-Id: 7f3c2a1e-9b8d-4c6f-a5e4-3d2c1b0a9f8e\r\n"
    "Connection: keep-alive\r\n\r\n";

const std::string kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 27\r\n"
    "Cache-Control: no-cache\r\n"
    "Date: Wed, 25 Nov 2026 06:00:00 GMT\r\n\r\n"
    "{\"id\":12345,\"name\":\"Ada\"}\n";

void BM_RequestParseAndUpstreamHead(benchmark::State& state) {
  ParseEvents ev;
  std::string out;
  out.reserve(1024);
  UpstreamRequestInfo info;
  info.client_ip = "10.1.2.3";
  for (auto _ : state) {
    ev.reset();
    RequestParser parser(ev);
    boost::beast::error_code ec;
    parser.feed(kRequest, ec);
    out.clear();
    writeUpstreamRequestHead(out, ev, info);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(BM_RequestParseAndUpstreamHead);

void BM_ResponseParseAndDownstreamHead(benchmark::State& state) {
  ParseEvents ev;
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    ev.reset();
    ResponseParser parser(ev);
    parser.eager(true);
    boost::beast::error_code ec;
    parser.feed(kResponse, ec);
    out.clear();
    writeDownstreamResponseHead(out, ev, ev.reason,
                                chooseResponseFraming(ev, false, 11), true, 11);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ResponseParseAndDownstreamHead);

}  // namespace
}  // namespace switchyard::proxy
