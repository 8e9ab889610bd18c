#include "proxy/http1_parser.h"

#include <boost/beast/core/string.hpp>

namespace switchyard::proxy {

using boost::beast::error_code;
using boost::beast::string_view;

void ParseEvents::reset() {
  header_done = false;
  method = http::verb::unknown;
  method_text = {};
  target = {};
  status = 0;
  reason = {};
  version = 11;
  fields.clear();
  content_length.reset();
  chunked = false;
  reject_reason = nullptr;
  body.clear();
  trailers.clear();
  finished = false;
}

template <bool isRequest>
std::size_t Http1Parser<isRequest>::feed(std::string_view input, error_code& ec) {
  input_ = input;
  events_.body.clear();
  return this->put(boost::asio::const_buffer(input.data(), input.size()), ec);
}

template <bool isRequest>
void Http1Parser<isRequest>::on_request_impl(http::verb method, string_view method_str,
                                             string_view target, int version, error_code& ec) {
  events_.method = method;
  events_.method_text = std::string_view(method_str.data(), method_str.size());
  events_.target = std::string_view(target.data(), target.size());
  events_.version = version;
  if (version != 10 && version != 11) events_.reject_reason = "unsupported HTTP version";
}

template <bool isRequest>
void Http1Parser<isRequest>::on_response_impl(int code, string_view reason, int version,
                                              error_code&) {
  events_.status = static_cast<unsigned>(code);
  events_.reason = std::string_view(reason.data(), reason.size());
  events_.version = version;
}

template <bool isRequest>
void Http1Parser<isRequest>::on_field_impl(http::field name, string_view name_string,
                                           string_view value, error_code& ec) {
  // Beast unfolds obs-fold into a buffer of its own: a value outside the input is one.
  if (!inInput(value)) {
    events_.reject_reason = "obsolete line folding in a header";
    if constexpr (isRequest) {
      ec = http::error::bad_obs_fold;
      return;
    }
  }
  HeaderField f{name, std::string_view(name_string.data(), name_string.size()),
                std::string_view(value.data(), value.size())};
  if (in_trailers_) {
    events_.trailers.push_back(f);
    return;
  }
  if constexpr (isRequest) {
    // Beast ignores a Transfer-Encoding whose last coding is not chunked; in a request the body
    // length is then unknowable (RFC 9112 6.3), so the request is refused, not guessed at.
    if (name == http::field::transfer_encoding) {
      // The final coding is the last comma-separated token, without its optional whitespace:
      // "xchunked" or "chunked;x" is not "chunked".
      auto v = f.value;
      if (const auto comma = v.rfind(','); comma != std::string_view::npos)
        v.remove_prefix(comma + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      if (!boost::beast::iequals(v, "chunked"))
        events_.reject_reason = "Transfer-Encoding without chunked as the final coding";
      if (events_.version == 10) events_.reject_reason = "Transfer-Encoding in an HTTP/1.0 request";
    }
    if (name == http::field::host) ++host_fields_;
  }
  events_.fields.push_back(f);
}

template <bool isRequest>
void Http1Parser<isRequest>::on_header_impl(error_code&) {
  if constexpr (isRequest) {
    // RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without a Host field, and
    // to any request with more than one (two hops could each read another authority).
    if (host_fields_ > 1) events_.reject_reason = "more than one Host field";
    if (host_fields_ == 0 && events_.version == 11) events_.reject_reason = "no Host field";
  }
  events_.header_done = true;
  events_.chunked = this->chunked();
  if (auto cl = this->content_length()) events_.content_length = *cl;
}

template <bool isRequest>
void Http1Parser<isRequest>::on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) {
}

template <bool isRequest>
std::size_t Http1Parser<isRequest>::on_body_impl(string_view body, error_code&) {
  if (!body.empty()) events_.body.emplace_back(body.data(), body.size());
  return body.size();
}

template <bool isRequest>
void Http1Parser<isRequest>::on_chunk_header_impl(std::uint64_t size, string_view, error_code&) {
  // Chunks are re-framed by the writer, so only the last (size 0) matters: trailers follow it.
  if (size == 0) in_trailers_ = true;
}

template <bool isRequest>
std::size_t Http1Parser<isRequest>::on_chunk_body_impl(std::uint64_t, string_view body,
                                                       error_code&) {
  if (!body.empty()) events_.body.emplace_back(body.data(), body.size());
  return body.size();
}

template <bool isRequest>
void Http1Parser<isRequest>::on_finish_impl(error_code&) {
  events_.finished = true;
}

template class Http1Parser<true>;
template class Http1Parser<false>;

}  // namespace switchyard::proxy
