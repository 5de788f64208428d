#pragma once
// halt::bind: cancel any Asio operation with a halt token.

#include <concepts>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_executor.hpp>

#include <halt/asio/detail/aborted_completion.hpp>
#include <halt/asio/detail/bind_state.hpp>
#include <halt/token.hpp>

namespace boost::asio::detail {
template <typename Executor>
class initiate_co_spawn;  // <boost/asio/co_spawn.hpp>, not included: bind is usable without coroutines
}  // namespace boost::asio::detail

namespace halt {
namespace asio_detail {

/// A halt::token held by value, or borrowed through std::cref to spare the reference count.
class token_holder {
public:
    explicit token_holder(halt::token tok) noexcept : owned_(std::move(tok)) {}
    explicit token_holder(std::reference_wrapper<const halt::token> tok) noexcept : borrowed_(&tok.get()) {}

    const halt::token& get() const noexcept { return borrowed_ != nullptr ? *borrowed_ : owned_; }

private:
    halt::token owned_;
    const halt::token* borrowed_ = nullptr;
};

}  // namespace asio_detail

/// A completion token that runs an Asio operation with a halt token: what halt::bind returns. Use it
/// wherever the wrapped completion token is accepted; it changes nothing else about the operation.
template <class CompletionToken>
class token_binder {
public:
    template <class Token>
        requires std::constructible_from<CompletionToken, Token>
    token_binder(asio_detail::token_holder tok, Token&& completion_token)
        : token_(std::move(tok)), completion_token_(std::forward<Token>(completion_token)) {}

    /// The halt token the operation is bound to.
    const halt::token& cancellation_token() const noexcept { return token_.get(); }

    /// The token, as held (owned or borrowed).
    const asio_detail::token_holder& holder() const& noexcept { return token_; }
    asio_detail::token_holder&& holder() && noexcept { return std::move(token_); }

    /// The wrapped completion token.
    CompletionToken& get() & noexcept { return completion_token_; }
    const CompletionToken& get() const& noexcept { return completion_token_; }
    CompletionToken&& get() && noexcept { return std::move(completion_token_); }

private:
    asio_detail::token_holder token_;
    CompletionToken completion_token_;
};

/// Wraps `completion_token` so that the operation it is given to is cancelled when `tok` is.
///
///     socket.async_read_some(buffer, halt::bind(tok, [](boost::system::error_code ec, std::size_t n) { ... }));
///     std::size_t n = co_await socket.async_read_some(buffer, halt::bind(tok, asio::use_awaitable));
///
/// Works with any completion token (callbacks, use_future, use_awaitable, deferred, as_tuple, ...) and
/// any operation that supports Asio's per-operation cancellation (it sees a connected cancellation
/// slot, as with asio::bind_cancellation_slot).
///
/// - Cancelling `tok` (from any thread, or by its deadline) posts the slot's emit to the operation's
///   executor: the handler's associated executor, else the I/O object's executor (for co_spawn, the
///   coroutine's executor). Asio slots are not thread-safe; the emit never runs on the cancelling
///   thread. The emitted type is cancellation_type::all, so the operation applies the strongest
///   cancellation it supports. As with any Asio cancellation, a composed operation on an io_context
///   with several threads needs its handler on a strand.
/// - On an already-cancelled token the operation is not started: its handler is posted at once with
///   operation_aborted (signatures starting with an error_code), or with a halt::canceled_error
///   (signatures starting with std::exception_ptr, like co_spawn's). Other signatures start the
///   operation and cancel it right away.
/// - The reason is not squeezed into the error code, which stays Asio's operation_aborted: read it
///   from the token, `tok.reason()` (errc::deadline_exceeded, a user code, ...), once the operation
///   completed with operation_aborted; `tok.is_cancellation_requested()` tells this cancellation from
///   another canceller's.
/// - If the wrapped handler has a cancellation slot of its own (a coroutine's, a bind_cancellation_slot),
///   that slot still cancels the operation too.
/// - A token that can never be cancelled (token::none()) adds nothing: the operation runs unwrapped.
///
/// Cost per operation with a cancellable token: one block from Asio's per-thread recycling cache (no
/// malloc in steady state), the operation's slot handler in a fresh signal, and one halt registration
/// (its lock, taken to register and to unregister, is the only atomic read-modify-write); nothing more
/// unless the token is cancelled. The token is held by value, which costs two reference-count
/// operations when an lvalue is copied in; the std::cref overload spares them.
template <class CompletionToken>
[[nodiscard]] token_binder<std::decay_t<CompletionToken>> bind(halt::token tok, CompletionToken&& completion_token) {
    return token_binder<std::decay_t<CompletionToken>>(asio_detail::token_holder(std::move(tok)),
                                                        std::forward<CompletionToken>(completion_token));
}

/// As above, but borrows the token instead of copying it: `halt::bind(std::cref(tok), ...)` saves the
/// token's reference counting (two atomic operations per operation). `tok` must outlive the
/// operation's initiation: the call itself for callbacks and use_future; with a lazy completion token
/// (use_awaitable, deferred) until the operation is awaited or launched. After the initiation the
/// operation no longer needs it.
template <class CompletionToken>
[[nodiscard]] token_binder<std::decay_t<CompletionToken>> bind(std::reference_wrapper<const halt::token> tok,
                                                               CompletionToken&& completion_token) {
    return token_binder<std::decay_t<CompletionToken>>(asio_detail::token_holder(tok),
                                                        std::forward<CompletionToken>(completion_token));
}

namespace asio_detail {

/// The handler the operation really gets: the wrapped handler plus the bind state. Move-only.
template <class Handler, class Executor>
class bound_handler {
public:
    using cancellation_slot_type = asio::cancellation_slot;

    bound_handler(Handler&& handler, bind_state<Executor>* state) noexcept(
        std::is_nothrow_move_constructible_v<Handler>)
        : handler_(std::move(handler)), state_(state) {}

    bound_handler(bound_handler&& other) noexcept(std::is_nothrow_move_constructible_v<Handler>)
        : handler_(std::move(other.handler_)), state_(std::exchange(other.state_, nullptr)) {}
    bound_handler& operator=(bound_handler&&) = delete;

    /// An operation that drops its handler without calling it (io_context destroyed) still unregisters.
    ~bound_handler() {
        if (state_ != nullptr) state_->finish();
    }

    cancellation_slot_type get_cancellation_slot() const noexcept {
        return state_ != nullptr ? state_->slot() : cancellation_slot_type();
    }

    Handler& get() noexcept { return handler_; }
    const Handler& get() const noexcept { return handler_; }

    template <class... Args>
    void operator()(Args&&... args) {
        // Unregister and free before the upcall (Asio's rule: memory back before the handler runs).
        if (bind_state<Executor>* state = std::exchange(state_, nullptr)) state->finish();
        std::move(handler_)(std::forward<Args>(args)...);
    }

private:
    Handler handler_;
    bind_state<Executor>* state_;
};

template <class T>
concept has_executor = requires(const T& t) { t.get_executor(); };

/// co_spawn's initiation: its cancellation is emitted on the coroutine's executor, whatever the
/// handler's. Asio 1.26's co_spawn forwards a cancellation that arrives elsewhere with a posted
/// step that still points into the slot; emitting on the coroutine's executor keeps that inline.
template <class T>
struct is_co_spawn_initiation : std::false_type {};
template <class Executor>
struct is_co_spawn_initiation<asio::detail::initiate_co_spawn<Executor>> : std::true_type {};

/// Wraps the operation's initiation: receives the final handler, registers on the token, and starts the
/// operation with the bound handler (bind_state.hpp has the protocol).
template <class Initiation, class... Signatures>
class bind_initiation {
public:
    template <class Init>
    bind_initiation(Init&& initiation, token_holder tok)
        : initiation_(std::forward<Init>(initiation)), token_(std::move(tok)) {}

    bind_initiation(bind_initiation&&) = default;

    /// Asio and some completion tokens ask the initiation for the I/O object's executor.
    auto get_executor() const noexcept
        requires has_executor<Initiation>
    {
        return initiation_.get_executor();
    }

    template <class Handler, class... Args>
    void operator()(Handler&& handler, Args&&... args) && {
        launch(std::move(initiation_), token_.get(), std::forward<Handler>(handler), std::forward<Args>(args)...);
    }

    template <class Handler, class... Args>
    void operator()(Handler&& handler, Args&&... args) const& {
        launch(initiation_, token_.get(), std::forward<Handler>(handler), std::forward<Args>(args)...);
    }

private:
    /// Where the emit runs: the handler's associated executor, else the I/O object's (for co_spawn,
    /// always the coroutine's).
    template <class Init, class Handler>
    static auto emit_executor_for(const Init& initiation, const Handler& handler) {
        if constexpr (is_co_spawn_initiation<std::decay_t<Init>>::value) {
            return initiation.get_executor();
        } else if constexpr (has_executor<Init>) {
            using io_executor_type = std::decay_t<decltype(initiation.get_executor())>;
            if constexpr (requires {
                              typename asio::associated_executor<Handler, io_executor_type>::
                                  asio_associated_executor_is_unspecialised;
                          }) {
                return initiation.get_executor();  // the handler has none: no extra copy of the I/O executor
            } else {
                return asio::get_associated_executor(handler, initiation.get_executor());
            }
        } else {
            return asio::get_associated_executor(handler);
        }
    }

    template <class Init, class Handler, class... Args>
    void launch(Init&& initiation, const halt::token& tok, Handler&& handler, Args&&... args) const {
        using handler_type = std::decay_t<Handler>;
        using aborted = aborted_completion<typename first_signature<Signatures...>::type>;

        if (!tok.can_be_canceled()) {
            std::forward<Init>(initiation)(std::forward<Handler>(handler), std::forward<Args>(args)...);
            return;
        }
        auto executor = emit_executor_for(initiation, handler);
        using executor_type = decltype(executor);
        if constexpr (aborted::available) {
            if (tok.is_cancellation_requested()) {
                // Not started; the handler runs from the executor, never inside this call.
                std::apply(
                    [&](auto&&... values) {
                        asio::post(executor, asio::append(std::forward<Handler>(handler), std::move(values)...));
                    },
                    aborted::arguments(tok));
                return;
            }
        }
        auto* state =
            bind_state<executor_type>::create(std::move(executor), asio::get_associated_cancellation_slot(handler), tok);
        state->launch([&] {
            std::forward<Init>(initiation)(
                bound_handler<handler_type, executor_type>(handler_type(std::forward<Handler>(handler)), state),
                std::forward<Args>(args)...);
        });
    }

    Initiation initiation_;
    token_holder token_;
};

}  // namespace asio_detail
}  // namespace halt

namespace boost::asio {

template <class CompletionToken, class... Signatures>
class async_result<halt::token_binder<CompletionToken>, Signatures...> {
public:
    template <class Initiation, class RawToken, class... Args>
    static auto initiate(Initiation&& initiation, RawToken&& token, Args&&... args) {
        using wrapper = halt::asio_detail::bind_initiation<std::decay_t<Initiation>, Signatures...>;
        wrapper wrapped(std::forward<Initiation>(initiation), std::forward<RawToken>(token).holder());
        if constexpr (std::is_const_v<std::remove_reference_t<RawToken>>) {
            CompletionToken copy(token.get());  // async_initiate wants a modifiable token
            return async_initiate<CompletionToken, Signatures...>(std::move(wrapped), copy, std::forward<Args>(args)...);
        } else {
            return async_initiate<CompletionToken, Signatures...>(std::move(wrapped), token.get(),
                                                                  std::forward<Args>(args)...);
        }
    }
};

/// Every association but the cancellation slot (the executor, the allocator, ...) is the wrapped
/// handler's.
template <template <class, class> class Associator, class Handler, class Executor, class DefaultCandidate>
struct associator<Associator, halt::asio_detail::bound_handler<Handler, Executor>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const halt::asio_detail::bound_handler<Handler, Executor>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.get());
    }
    static auto get(const halt::asio_detail::bound_handler<Handler, Executor>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.get(), c)) {
        return Associator<Handler, DefaultCandidate>::get(h.get(), c);
    }
};

}  // namespace boost::asio
