#pragma once
// halt::source: the side that cancels.

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <span>
#include <stop_token>
#include <system_error>
#include <type_traits>
#include <utility>

#include <halt/detail/state.hpp>
#include <halt/errc.hpp>
#include <halt/token.hpp>

namespace halt {

/// What source::linked accepts as a parent: a halt::token or a std::stop_token
/// (so that a std::jthread's stop request reaches halt code).
template <class T>
concept linkable_parent =
    std::same_as<std::remove_cvref_t<T>, token> || std::same_as<std::remove_cvref_t<T>, std::stop_token>;

/// Requests cancellation and hands out tokens that observe it.
///
/// Copies share one cancellation state (like std::stop_source); the state
/// lives while any source, token or registration refers to it. When the last
/// source copy is destroyed without having cancelled, the state can never be
/// cancelled: its pending deadline is removed and it detaches from its
/// parents at once. No Dispose call is needed.
///
/// All members may be called concurrently from any threads. A moved-from
/// source has no state: cancel() returns false and token() is the none token.
class source {
public:
    /// A new, uncancelled state. Allocates once; throws std::bad_alloc.
    source() : state_(detail::state::create()) {}

    source(const source& other) noexcept : state_(other.state_) {
        if (state_ != nullptr) state_->add_source();
    }
    source(source&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    source& operator=(const source& other) noexcept {
        source(other).swap(*this);
        return *this;
    }
    source& operator=(source&& other) noexcept {
        source(std::move(other)).swap(*this);
        return *this;
    }
    ~source() {
        if (state_ != nullptr) state_->release_source();
    }

    void swap(source& other) noexcept { std::swap(state_, other.state_); }
    friend void swap(source& a, source& b) noexcept { a.swap(b); }

    /// A token observing this source. One relaxed atomic increment.
    halt::token token() const noexcept {
        if (state_ == nullptr) return {};
        state_->add_reference();
        return detail::token_access::adopt(state_);
    }

    /// Cancels with errc::canceled. See cancel(std::error_code).
    bool cancel() { return cancel(make_error_code(errc::canceled)); }

    /// Requests cancellation with `reason` (an empty code is replaced by
    /// errc::canceled, since an empty reason means "not cancelled").
    ///
    /// Returns true for the one call that cancelled; later and concurrent
    /// calls return false at once, without waiting for callbacks. The winning
    /// call runs every registered callback synchronously on this thread,
    /// newest first; callbacks registered from now on run at registration.
    /// Every callback runs even if some throw; then this throws one
    /// halt::callback_errors holding each exception in run order.
    /// O(number of callbacks); removes a pending deadline.
    bool cancel(std::error_code reason) { return state_ != nullptr && state_->cancel(reason); }

    /// True once cancelled. One acquire load.
    bool is_cancellation_requested() const noexcept { return state_ != nullptr && state_->is_cancelled(); }

    /// Cancels with errc::deadline_exceeded once `delay` has passed, on the
    /// process-wide timer thread. A later call moves the deadline, earlier or
    /// later (as .NET's CancelAfter). A delay of zero or less cancels now, on
    /// this thread. duration::max() (or anything past time_point::max())
    /// disarms. Does nothing once cancelled. O(log n) in pending deadlines.
    template <class Rep, class Period>
    void cancel_after(std::chrono::duration<Rep, Period> delay) {
        cancel_at(detail::saturating_deadline_after(delay));
    }

    /// As cancel_after, at an absolute steady_clock time. time_point::max()
    /// disarms the pending deadline.
    void cancel_at(std::chrono::steady_clock::time_point deadline) {
        if (state_ != nullptr) state_->set_deadline(deadline.time_since_epoch().count());
    }

    /// Makes an uncancelled source reusable for an unrelated operation (.NET's
    /// TryReset): disarms the pending deadline and forgets every callback
    /// registered through on_cancel or halt::callback (their handles become
    /// inert). Links to parents and to_stop_token bridges are kept. Returns
    /// false, changing nothing, if already cancelled. Call it only when no
    /// other thread is using the source's tokens.
    bool try_reset() { return state_ != nullptr && state_->try_reset(); }

    /// A source cancelled when any parent is, with that parent's reason (a
    /// std::stop_token parent gives errc::canceled); it can also be cancelled
    /// on its own. Its token's deadline() is the earliest of its own and its
    /// parents'. None tokens are ignored: linked only to them, it is an
    /// ordinary source. A parent already cancelled cancels it at once.
    /// Destroying its last copy unregisters it from every parent.
    ///
    /// One allocation for any number of halt parents (plus one for
    /// std::stop_token parents, if any).
    template <linkable_parent... Parents>
    static source linked(const Parents&... parents) {
        constexpr std::size_t halt_count = (std::size_t{0} + ... + std::same_as<Parents, halt::token>);
        constexpr std::size_t std_count = sizeof...(Parents) - halt_count;
        std::array<detail::state*, halt_count> halt_parents{};
        std::array<const std::stop_token*, std_count> std_parents{};
        [[maybe_unused]] std::size_t next_halt = 0;
        [[maybe_unused]] std::size_t next_std = 0;
        (
            [&](const auto& parent) {
                if constexpr (std::same_as<std::remove_cvref_t<decltype(parent)>, halt::token>) {
                    halt_parents[next_halt++] = detail::token_access::get(parent);
                } else {
                    std_parents[next_std++] = &parent;
                }
            }(parents),
            ...);
        return make_linked(halt_parents, std_parents);
    }

    /// As linked(parents...), for a run-time number of halt tokens.
    static source linked(std::span<const halt::token> parents);

    /// Two sources are equal when they share one state.
    friend bool operator==(const source& a, const source& b) noexcept { return a.state_ == b.state_; }

private:
    explicit source(detail::state* adopted) noexcept : state_(adopted) {}

    static source make_linked(std::span<detail::state* const> parents,
                              std::span<const std::stop_token* const> std_parents);

    detail::state* state_;
};

}  // namespace halt
