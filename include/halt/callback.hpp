#pragma once
// halt::callback<F>: the allocation-free, non-movable registration, the
// counterpart of std::stop_callback.

#include <concepts>
#include <type_traits>
#include <utility>

#include <halt/detail/invoke_callback.hpp>
#include <halt/detail/state.hpp>
#include <halt/token.hpp>

namespace halt {

/// Runs `F` when a token is cancelled, for as long as the object lives.
///
/// The callable is stored inside the object and the object links itself into
/// the token's callback list, so registering allocates nothing and costs no
/// reference-count traffic. It cannot move (the list points at it).
///
/// - Not cancelled: `F` runs later, on the cancelling thread, newest first.
/// - Already cancelled: `F` runs in the constructor, on this thread; an
///   exception from it propagates out of the constructor.
/// - None token: nothing happens.
///
/// The destructor unregisters; if `F` is running on another thread it blocks
/// until `F` returns. Destroying it from inside a callback of the same
/// cancellation, on the cancelling thread, does not wait.
///
///     halt::callback on_stop{tok, [&] { socket.close(); }};
template <class F>
class callback {
    static_assert(cancellation_callback<F>, "halt::callback<F>: F must be invocable with () or (const std::error_code&)");
    static_assert(std::is_destructible_v<F>);

public:
    using callback_type = F;

    template <class Initializer>
        requires std::constructible_from<F, Initializer>
    explicit callback(const token& tok, Initializer&& init) noexcept(
        std::is_nothrow_constructible_v<F, Initializer> && detail::is_nothrow_callback<F>)
        : node_(std::forward<Initializer>(init)) {
        detail::state* state = detail::token_access::get(tok);
        if (state != nullptr && !state->attach(node_)) {
            detail::invoke_callback(std::move(node_.function), state->reason());
        }
    }

    callback(const callback&) = delete;
    callback& operator=(const callback&) = delete;
    callback(callback&&) = delete;
    callback& operator=(callback&&) = delete;

    ~callback() { detail::state::detach_or_wait(node_); }

private:
    struct node : detail::callback_node {
        template <class Initializer>
        explicit node(Initializer&& init) : function(std::forward<Initializer>(init)) {
            run = &run_function;
        }
        static void run_function(detail::callback_node& self, const std::error_code& reason) {
            detail::invoke_callback(std::move(static_cast<node&>(self).function), reason);
        }
        [[no_unique_address]] F function;
    };

    node node_;
};

template <class F>
callback(const token&, F) -> callback<F>;

}  // namespace halt
