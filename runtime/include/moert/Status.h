//===- Status.h - success or a message saying what went wrong ---*- C++ -*-===//
//
// The runtime reports failures as values, never by exiting: a bad plan,
// checkpoint or dataset returns a Status whose message names the file and the
// part at fault, and the tool decides how to end.
//
//===----------------------------------------------------------------------===//

#ifndef MOERT_STATUS_H
#define MOERT_STATUS_H

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace moert {

class [[nodiscard]] Status {
public:
  Status() = default;
  static Status error(std::string message) {
    return Status(std::move(message));
  }

  bool ok() const { return !text; }
  /// The error message; empty for success.
  const std::string &message() const {
    static const std::string none;
    return text ? *text : none;
  }

  /// Prefixes the message with where it happened: "model.plan: ...".
  Status within(const std::string &context) const {
    return ok() ? *this : error(context + ": " + message());
  }

private:
  explicit Status(std::string message) : text(std::move(message)) {}
  std::optional<std::string> text;
};

/// A value or the Status that explains its absence.
template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : storage(std::move(value)) {}
  StatusOr(Status status) : storage(std::move(status)) {}

  bool ok() const { return std::holds_alternative<T>(storage); }
  Status status() const { return ok() ? Status() : std::get<Status>(storage); }
  T &value() { return std::get<T>(storage); }
  const T &value() const { return std::get<T>(storage); }
  T &operator*() { return value(); }
  T *operator->() { return &value(); }

private:
  std::variant<T, Status> storage;
};

} // namespace moert

#define MOERT_RETURN_IF_ERROR(expr)                                            \
  do {                                                                         \
    ::moert::Status status_ = (expr);                                          \
    if (!status_.ok())                                                         \
      return status_;                                                          \
  } while (false)

#endif // MOERT_STATUS_H
