#pragma once
// halt::token: the observing side of a cancellation, one pointer wide.

#include <chrono>
#include <optional>
#include <system_error>
#include <utility>

#include <halt/detail/invoke_callback.hpp>
#include <halt/detail/state.hpp>
#include <halt/registration.hpp>

namespace halt {

template <class F>
class callback;
class source;

namespace detail {
struct token_access;

/// `now + d`, saturated to time_point::max() instead of overflowing.
template <class Rep, class Period>
clock::time_point saturating_deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
    const auto now = clock::now();
    if (d <= d.zero()) return now;
    // Compare in floating-point seconds: any duration type fits without overflow.
    using seconds = std::chrono::duration<double>;
    if (seconds(d) >= seconds(clock::time_point::max() - now)) return clock::time_point::max();
    return now + std::chrono::ceil<clock::duration>(d);
}
}  // namespace detail

/// Observes whether an operation should stop, and why.
///
/// A token is one pointer wide and is copied freely (a copy is one relaxed
/// atomic increment; a move is free). Every member is const and safe to call
/// from any thread at the same time as any member of any other copy or of the
/// source. A default-constructed token, like token::none(), can never be
/// cancelled, and every operation on it is a no-op that allocates nothing.
class token {
public:
    /// The none token: never cancelled, on_cancel does nothing.
    token() noexcept = default;

    /// Same as token{}: a token that can never be cancelled.
    static token none() noexcept { return {}; }

    token(const token& other) noexcept : state_(other.state_) {
        if (state_ != nullptr) state_->add_reference();
    }
    token(token&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    token& operator=(const token& other) noexcept {
        token(other).swap(*this);
        return *this;
    }
    token& operator=(token&& other) noexcept {
        token(std::move(other)).swap(*this);
        return *this;
    }
    ~token() {
        if (state_ != nullptr) state_->release_reference();
    }

    void swap(token& other) noexcept { std::swap(state_, other.state_); }
    friend void swap(token& a, token& b) noexcept { a.swap(b); }

    /// True once the source was cancelled. One acquire load; never blocks.
    bool is_cancellation_requested() const noexcept {
        return state_ != nullptr && state_->is_cancelled();
    }

    /// False for the none token, and for a token whose sources are all gone
    /// without having cancelled (nothing can cancel it any more).
    bool can_be_canceled() const noexcept {
        return state_ != nullptr && state_->can_be_cancelled();
    }

    /// Why the token was cancelled; an empty std::error_code until then.
    std::error_code reason() const noexcept {
        return is_cancellation_requested() ? state_->reason() : std::error_code{};
    }

    /// The earliest deadline that will cancel this token: its source's own
    /// (cancel_after / cancel_at) or, for a linked source, a parent's.
    /// Empty when none is set.
    std::optional<std::chrono::steady_clock::time_point> deadline() const noexcept {
        if (state_ == nullptr) return std::nullopt;
        const auto ticks = state_->effective_deadline();
        if (ticks == detail::no_deadline) return std::nullopt;
        return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks));
    }

    /// Throws halt::canceled_error (carrying this token and its reason) if
    /// cancellation was requested; otherwise does nothing.
    void throw_if_cancellation_requested() const {
        if (is_cancellation_requested()) throw_canceled();
    }

    /// Blocks the calling thread until the token is cancelled, and returns
    /// true. Returns false at once for a token that can never be cancelled,
    /// and as soon as it becomes one (its last source destroyed uncancelled).
    /// Allocates nothing (the wake-up registration lives on the stack).
    bool wait() const;

    /// Blocks until cancelled (true) or until `timeout` has passed (false).
    /// Also returns false early when the last source is destroyed
    /// uncancelled; the none token just sleeps for `timeout`.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        return wait_until_steady(detail::saturating_deadline_after(timeout));
    }

    /// Blocks until cancelled (true) or until `time` (false). Any clock is
    /// accepted; clocks other than steady_clock are re-read after each wake.
    template <class Clock, class Duration>
    bool wait_until(std::chrono::time_point<Clock, Duration> time) const {
        if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
            return wait_until_steady(std::chrono::time_point_cast<std::chrono::steady_clock::duration>(time));
        } else {
            for (;;) {
                const auto now = Clock::now();
                if (now >= time) return is_cancellation_requested();
                if (wait_for(time - now)) return true;
            }
        }
    }

    /// Registers `f` to run when the token is cancelled, and returns its
    /// handle (keep it: destroying it unregisters). `f` takes no argument or
    /// the reason (`const std::error_code&`).
    ///
    /// - Not cancelled: `f` runs later, on the thread that cancels (or on the
    ///   process's timer thread for a deadline), newest registration first.
    /// - Already cancelled: `f` runs now, on this thread, before on_cancel
    ///   returns; exceptions from it propagate to the caller.
    /// - None token: nothing happens.
    ///
    /// Allocates nothing when `f` is at most two pointers and nothrow-movable.
    /// O(1); lock-free in the uncontended case except for a short spin lock.
    template <cancellation_callback F>
    [[nodiscard]] registration on_cancel(F&& f) const {
        return registration(state_, std::forward<F>(f));
    }

    // --- The C++26 stoppable_token shape ---------------------------------

    /// Same as is_cancellation_requested().
    bool stop_requested() const noexcept { return is_cancellation_requested(); }
    /// Same as can_be_canceled().
    bool stop_possible() const noexcept { return can_be_canceled(); }
    /// The allocation-free registration type, as std::stop_token::callback_type.
    template <class F>
    using callback_type = callback<F>;

    /// Two tokens are equal when they observe the same source (all none
    /// tokens are equal).
    friend bool operator==(const token& a, const token& b) noexcept { return a.state_ == b.state_; }

private:
    friend struct detail::token_access;
    friend class source;

    /// Adopts one reference already taken on `state`.
    explicit token(detail::state* state) noexcept : state_(state) {}

    [[noreturn]] void throw_canceled() const;
    bool wait_until_steady(std::chrono::steady_clock::time_point time) const;

    detail::state* state_ = nullptr;
};

namespace detail {
/// The library's own access to a token's state; not for users.
struct token_access {
    static state* get(const token& t) noexcept { return t.state_; }
    static token adopt(state* s) noexcept { return token(s); }
};
}  // namespace detail

}  // namespace halt
