#pragma once
// halt::registration: the movable RAII handle token::on_cancel returns.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include <halt/detail/invoke_callback.hpp>
#include <halt/detail/state.hpp>

namespace halt {

class token;

namespace detail {

/// Type-erased storage for the callable, inline when it is at most two
/// pointers and nothrow-movable (so that a move can relocate it while the
/// list lock is held), on the heap otherwise.
struct registration_node : callback_node {
    struct operations {
        void (*relocate)(void* from, void* to) noexcept;  // move-construct into `to`, destroy `from`
        void (*destroy)(void* storage) noexcept;
    };
    const operations* ops = nullptr;  // null: holds no callable
    alignas(std::max_align_t) unsigned char storage[2 * sizeof(void*)];
};

template <class F>
inline constexpr bool stored_inline = sizeof(F) <= sizeof(registration_node::storage) &&
                                      alignof(F) <= alignof(std::max_align_t) &&
                                      std::is_nothrow_move_constructible_v<F>;

template <class F>
struct inline_callable {
    static F& get(void* storage) noexcept { return *std::launder(static_cast<F*>(storage)); }
    static void relocate(void* from, void* to) noexcept {
        ::new (to) F(std::move(get(from)));
        get(from).~F();
    }
    static void destroy(void* storage) noexcept { get(storage).~F(); }
    static constexpr registration_node::operations ops{&relocate, &destroy};
};

template <class F>
struct heap_callable {
    static F*& pointer(void* storage) noexcept { return *std::launder(static_cast<F**>(storage)); }
    static F& get(void* storage) noexcept { return *pointer(storage); }
    static void relocate(void* from, void* to) noexcept { ::new (to) F*(pointer(from)); }
    static void destroy(void* storage) noexcept { delete pointer(storage); }
    static constexpr registration_node::operations ops{&relocate, &destroy};
};

template <class F>
using callable_storage = std::conditional_t<stored_inline<F>, inline_callable<F>, heap_callable<F>>;

}  // namespace detail

/// The handle of a callback registered with token::on_cancel.
///
/// Destroying it unregisters the callback; if the callback is running on
/// another thread at that moment, the destructor blocks until it returns, so
/// that whatever the callback uses may be freed right after. Destroying it
/// from inside a callback of the same cancellation (on the cancelling thread)
/// does not wait, and cannot deadlock.
///
/// A registration is not itself thread-safe: one thread at a time may call
/// its members. Different registrations of one token are independent.
class registration {
public:
    /// An empty registration: unregister() returns false, the destructor does
    /// nothing.
    registration() noexcept = default;

    /// Takes over `other`'s callback. If that callback is queued, it stays
    /// queued under its new owner (relinked under the list's lock, without
    /// allocating). If it is running on another thread, waits for it to
    /// return first; the result is then empty. `other` is left empty.
    registration(registration&& other) noexcept { take(other); }

    /// Unregisters the current callback (as the destructor does), then takes
    /// over `other`'s.
    registration& operator=(registration&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }

    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;

    ~registration() { reset(); }

    /// Removes the callback if it has not started. Never blocks. Returns true
    /// if the callback will not run (it was removed now); false if it already
    /// ran, is running, or the registration is empty. O(1).
    bool unregister() noexcept {
        if (!detail::state::try_detach(node_)) return false;
        drop_callable();
        return true;
    }

    /// True while the callback is queued or held (not yet unregistered and
    /// not yet destroyed).
    bool is_registered() const noexcept { return node_.ops != nullptr; }

private:
    friend class token;

    template <class F>
    registration(detail::state* state, F&& f) {
        if (state == nullptr) return;  // a none token never cancels
        using callable = std::decay_t<F>;
        using storage = detail::callable_storage<callable>;
        if constexpr (detail::stored_inline<callable>) {
            ::new (static_cast<void*>(node_.storage)) callable(std::forward<F>(f));
        } else {
            ::new (static_cast<void*>(node_.storage)) callable*(new callable(std::forward<F>(f)));
        }
        node_.ops = &storage::ops;
        node_.run = &run<callable>;
        if (!state->attach(node_)) {
            // Already cancelled: run now, on the registering thread, as .NET does.
            struct drop_on_exit {
                registration& self;
                ~drop_on_exit() { self.drop_callable(); }
            } drop{*this};
            detail::invoke_callback(storage::get(node_.storage), state->reason());
        }
    }

    template <class Callable>
    static void run(detail::callback_node& node, const std::error_code& reason) {
        auto& self = static_cast<detail::registration_node&>(node);
        detail::invoke_callback(detail::callable_storage<Callable>::get(self.storage), reason);
    }

    void drop_callable() noexcept {
        if (node_.ops != nullptr) {
            node_.ops->destroy(node_.storage);
            node_.ops = nullptr;
        }
    }

    void reset() noexcept {
        detail::state::detach_or_wait(node_);
        drop_callable();
    }

    void take(registration& other) noexcept;

    detail::registration_node node_;
};

}  // namespace halt
