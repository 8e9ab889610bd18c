#pragma once
// A small std::expected stand-in (C++23's is not in GCC 12's C++20 mode): a value or an Error.
// Errors are values at every boundary (config, discovery, parsing, upstream); no exception is
// meant to cross an event loop.

#include <string>
#include <utility>
#include <variant>

namespace switchyard {

struct Error {
  std::string message;
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit on purpose

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error makeError(std::string message) { return Error{std::move(message)}; }

}  // namespace switchyard
