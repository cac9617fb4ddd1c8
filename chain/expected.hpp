// A minimal `expected<T, E>` (std::expected is C++23): decoders of untrusted input return one of
// these instead of throwing, and the error says exactly what was wrong.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace varkeeper::chain {

template <class E>
struct Unexpected {
  E error;
};

template <class E>
[[nodiscard]] constexpr Unexpected<std::decay_t<E>> unexpected(E&& e) {
  return {std::forward<E>(e)};
}

template <class T, class E>
class [[nodiscard]] Expected {
 public:
  using value_type = T;
  using error_type = E;

  template <class U = T>
  requires std::is_constructible_v<T, U&&>
  constexpr Expected(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  template <class G>
  constexpr Expected(Unexpected<G> u)
      : v_(std::in_place_index<1>, E(std::move(u.error))) {}  // NOLINT

  [[nodiscard]] constexpr bool has_value() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  constexpr T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  constexpr const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  constexpr T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  constexpr const E& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }
  constexpr T& operator*() & { return value(); }
  constexpr const T& operator*() const& { return value(); }
  constexpr T&& operator*() && { return std::move(*this).value(); }
  constexpr T* operator->() { return &value(); }
  constexpr const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

// Expected<void, E>: success carries no value.
template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  // Defaulted, so noexcept only when E() is; a throw clang-tidy then finds inside E() is a false
  // positive of its analysis (RpcError: nlohmann's unreachable throw for a null Json).
  constexpr Expected() = default;  // NOLINT(bugprone-exception-escape): see above
  template <class G>
  constexpr Expected(Unexpected<G> u) : err_(E(std::move(u.error))), ok_(false) {}  // NOLINT
  [[nodiscard]] constexpr bool has_value() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }
  constexpr const E& error() const {
    assert(!ok_);
    return err_;
  }

 private:
  E err_{};
  bool ok_ = true;
};

}  // namespace varkeeper::chain
