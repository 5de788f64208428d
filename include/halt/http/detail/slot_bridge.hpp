#pragma once
// How a client call honours the caller's Asio cancellation slot (the awaiting coroutine's own
// cancellation, a when_any, asio::bind_cancellation_slot) without handing that slot to co_spawn.
//
// Boost 1.81's co_spawn forwards a cancellation to the spawned coroutine's executor by posting a step
// that holds a raw pointer into the caller's slot. When the call completes before that step runs and
// the caller's next operation reuses the slot, the step emits through freed memory. So the call keeps
// the caller's slot to itself: it installs a slot_canceller there that cancels a halt::source linked to
// the call's token (thread-safe from anywhere, and the source's copies keep its state alive), and
// hands co_spawn the handler wrapped in without_slot, which shows no slot and keeps every other
// association (executor, allocator). asio::bind_cancellation_slot would do, but a handler that is
// itself a cancellation_slot_binder does not compile inside another one in Boost 1.81.
//
// Like Asio's own operations, the call leaves its canceller in the caller's slot when it completes:
// the caller's next operation replaces it. A late emit only cancels a call that is over. Clearing the
// slot on completion would race an emit on the caller's thread whenever the caller's handler has no
// executor of its own (a std::future), since the call completes on its private strand.

#include <utility>

#include <boost/asio/associator.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>

#include <halt/source.hpp>

namespace halt::http::detail {

/// Installed in the caller's cancellation slot: any cancellation type cancels the call's own source
/// (errc::canceled), which stops the call in whatever phase it is.
class slot_canceller {
public:
    explicit slot_canceller(halt::source call_source) noexcept : call_source_(std::move(call_source)) {}

    void operator()(boost::asio::cancellation_type_t /*type*/) noexcept { call_source_.cancel(); }

private:
    halt::source call_source_;
};

/// `Handler` with no cancellation slot; its executor, allocator and other associations are Handler's.
template <class Handler>
class without_slot {
public:
    using cancellation_slot_type = boost::asio::cancellation_slot;

    explicit without_slot(Handler handler) : handler_(std::move(handler)) {}

    cancellation_slot_type get_cancellation_slot() const noexcept { return {}; }

    const Handler& get() const noexcept { return handler_; }

    template <class... Args>
    void operator()(Args&&... args) {
        std::move(handler_)(std::forward<Args>(args)...);
    }

private:
    Handler handler_;
};

}  // namespace halt::http::detail

namespace boost::asio {

/// Every association but the cancellation slot is the wrapped handler's.
template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct associator<Associator, halt::http::detail::without_slot<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const halt::http::detail::without_slot<Handler>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.get());
    }
    static auto get(const halt::http::detail::without_slot<Handler>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.get(), c)) {
        return Associator<Handler, DefaultCandidate>::get(h.get(), c);
    }
};

}  // namespace boost::asio
