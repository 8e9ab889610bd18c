#include "proxy/h2_stream.h"

#include <algorithm>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstring>

#include "proxy/h2_server_session.h"

namespace switchyard::proxy {

namespace {

// Response bytes a stream buffers before it pauses its exchange (the client reads slower than
// the instance writes).
constexpr std::size_t kHighWater = 256 * 1024;

nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

ssize_t readCallback(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                     uint32_t* data_flags, nghttp2_data_source* source, void*) {
  return static_cast<H2Stream*>(source->ptr)->readBody(buf, length, data_flags);
}

// HTTP/2 field names are lower-case (RFC 9113 8.2.1); HTTP/1.1 ones may not be.
std::string lowerName(std::string_view name) {
  std::string s(name);
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

H2Stream::~H2Stream() {
  if (exchange) exchange->cancel();
}

void H2Stream::submitHead(unsigned status, std::vector<nghttp2_nv>& nva, bool with_body) {
  // nva[0] is reserved for :status; nghttp2 copies the fields, so the caller's scratch and the
  // views in it may go once this returns.
  char status_text[4];
  std::to_chars(status_text, status_text + 3, status);
  nva[0] = makeNv(":status", std::string_view(status_text, 3));
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = readCallback;
  responded = true;
  nghttp2_submit_response(session_.session_, id_, nva.data(), nva.size(),
                          with_body ? &provider : nullptr);
  session_.scheduleFlush();
}

void H2Stream::onResponseHead(unsigned status, const std::vector<HeaderField>& fields) {
  auto& nva = session_.nv_scratch_;  // reused by every stream of the connection
  nva.clear();
  nva.emplace_back();
  std::vector<std::string> names;  // lower-cased copies, only for names that need one
  for (const auto& f : fields) {
    // Most instances send lower-case names already: those go as they are, without a copy.
    if (std::none_of(f.name.begin(), f.name.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      nva.push_back(makeNv(f.name, f.value));
      continue;
    }
    if (names.empty()) names.reserve(fields.size());  // no reallocation: the views stay valid
    names.push_back(lowerName(f.name));
    nva.push_back(makeNv(names.back(), f.value));
  }
  // A HEAD answer, 204 and 304 have no body: END_STREAM rides on the HEADERS frame.
  const bool body = !(head_request || status == 204 || status == 304);
  if (!body) response_ended = true;
  submitHead(status, nva, body);
}

bool H2Stream::onResponseData(std::string_view data) {
  body_.append(data);
  if (deferred_) session_.resumeData(*this);
  const bool room = body_.size() - body_offset_ < kHighWater;
  if (!room) exchange_paused = true;
  return room;
}

void H2Stream::onResponseTrailers(const std::vector<HeaderField>& fields) {
  resp_trailers_.clear();
  for (const auto& f : fields) resp_trailers_.emplace_back(lowerName(f.name), std::string(f.value));
}

void H2Stream::onResponseEnd() {
  response_ended = true;
  if (deferred_) session_.resumeData(*this);
}

void H2Stream::onGatewayError(unsigned status, std::string_view cause, std::string_view detail) {
  const auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  body_.assign(reason.data(), reason.size());
  if (!detail.empty()) {
    body_.append(": ");
    body_.append(detail);
  }
  body_.push_back('\n');
  body_offset_ = 0;
  const std::string length = std::to_string(body_.size());
  std::vector<nghttp2_nv> nva = {nghttp2_nv{}, makeNv("content-type", "text/plain; charset=utf-8"),
                                 makeNv("content-length", length),
                                 makeNv("x-switchyard-error", cause)};
  response_ended = true;
  const bool body = !head_request;
  if (!body) body_.clear();
  submitHead(status, nva, body);
}

void H2Stream::onResponseReset(std::string_view) {
  // The instance failed after the head went out: the client must not take a cut body for a
  // whole one.
  nghttp2_submit_rst_stream(session_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  session_.scheduleFlush();
}

void H2Stream::onRequestBodyConsumed(std::size_t n) { session_.consume(*this, n); }

ssize_t H2Stream::readBody(uint8_t* buf, std::size_t length, uint32_t* data_flags) {
  const std::size_t available = body_.size() - body_offset_;
  const std::size_t n = std::min(length, available);
  if (n > 0) {
    std::memcpy(buf, body_.data() + body_offset_, n);
    body_offset_ += n;
    if (body_offset_ == body_.size()) {
      body_.clear();
      body_offset_ = 0;
    }
    if (exchange_paused && body_.size() - body_offset_ < kHighWater / 2) {
      exchange_paused = false;
      session_.to_resume_.push_back(id_);  // resumed after this mem_send, not inside it
    }
  }
  if (body_.size() - body_offset_ == 0) {
    if (response_ended) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!resp_trailers_.empty()) {
        std::vector<nghttp2_nv> nva;
        for (const auto& [name, value] : resp_trailers_) nva.push_back(makeNv(name, value));
        if (nghttp2_submit_trailer(session_.session_, id_, nva.data(), nva.size()) == 0)
          *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace switchyard::proxy
