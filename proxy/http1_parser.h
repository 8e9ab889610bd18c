#pragma once
// The HTTP/1.1 codec: Beast's basic_parser turned into "bytes in, events out". One feed() reports
// what the given bytes revealed (the head, body pieces, trailers, the end) as views into those
// bytes, so the owner can forward them without a copy and must consume the input only after it
// has used them. No I/O here.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace switchyard::proxy {

namespace http = boost::beast::http;

struct HeaderField {
  http::field id = http::field::unknown;
  std::string_view name;
  std::string_view value;
};

// What the parser found; reused from message to message so its vectors keep their capacity.
struct ParseEvents {
  // Head.
  bool header_done = false;
  http::verb method = http::verb::unknown;
  std::string_view method_text;
  std::string_view target;
  unsigned status = 0;
  std::string_view reason;
  int version = 11;  // 10 or 11
  std::vector<HeaderField> fields;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  // Set when the head is acceptable to Beast but not to us (request smuggling vectors).
  const char* reject_reason = nullptr;

  // Body pieces found by the last feed(), in order.
  std::vector<std::string_view> body;
  std::vector<HeaderField> trailers;
  bool finished = false;  // the whole message has been parsed

  void reset();
};

template <bool isRequest>
class Http1Parser final : public http::basic_parser<isRequest> {
 public:
  explicit Http1Parser(ParseEvents& events) : events_(events) {}

  // Parses as much of `input` as forms a step of the message; returns the bytes used. Body
  // pieces and the head's views point into `input`. ec is http::error::need_more when the input
  // holds no complete step yet.
  std::size_t feed(std::string_view input, boost::beast::error_code& ec);

 private:
  void on_request_impl(http::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        boost::beast::error_code& ec) override;
  void on_field_impl(http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                            boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code& ec) override;

  bool inInput(boost::beast::string_view v) const {
    return v.empty() ||
           (v.data() >= input_.data() && v.data() + v.size() <= input_.data() + input_.size());
  }

  ParseEvents& events_;
  std::string_view input_;
  bool in_trailers_ = false;
  uint32_t host_fields_ = 0;  // a request's Host fields: exactly one in HTTP/1.1 (RFC 9112 3.2)
};

extern template class Http1Parser<true>;
extern template class Http1Parser<false>;
using RequestParser = Http1Parser<true>;
using ResponseParser = Http1Parser<false>;

}  // namespace switchyard::proxy
