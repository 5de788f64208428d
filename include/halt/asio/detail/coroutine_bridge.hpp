#pragma once
// The bridge behind halt::this_coro::token: a halt::source cancelled when an Asio coroutine's
// cancellation state is.
//
// Asio tells a coroutine's cancellation state about a cancellation through one hook only: the filter
// the state applies to what its parent slot emits. The bridge installs a state whose incoming filter
// is Asio's default (enable_terminal_cancellation) plus "cancel the bridge's source", so the coroutine
// behaves exactly as before and the source follows it.
//
// Asio gives a coroutine no place to keep the bridge, so a process-wide registry maps the identity of
// the coroutine's current cancellation state (its child slot) to the bridge; every frame of the same
// coroutine finds the same token. The last copy of the filter lives inside the state, so the bridge
// (and its registry entry) dies with the state: when the coroutine ends, or when user code resets the
// state with asio::this_coro::reset_cancellation_state (tokens handed out before then can no longer be
// cancelled).

#include <bit>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/cancellation_type.hpp>

#include <halt/asio/detail/emit_context.hpp>
#include <halt/source.hpp>
#include <halt/token.hpp>

namespace halt::asio_detail {

namespace asio = boost::asio;

class coroutine_bridge;

/// Maps a cancellation state's identity to its bridge. Guarded by one mutex: it is used once per
/// `co_await halt::this_coro::token` and once per bridged coroutine's end, never per operation.
class bridge_registry {
public:
    /// Deliberately leaked: coroutines may end during static destruction.
    static bridge_registry& instance() {
        static bridge_registry* const registry = new bridge_registry;
        return *registry;
    }

    std::shared_ptr<coroutine_bridge> find(std::uintptr_t key) {
        std::lock_guard lock(mutex_);
        const auto found = entries_.find(key);
        return found == entries_.end() ? nullptr : found->second.weak.lock();
    }

    void insert(std::uintptr_t key, const std::shared_ptr<coroutine_bridge>& bridge) {
        std::lock_guard lock(mutex_);
        entries_.insert_or_assign(key, entry{bridge.get(), bridge});
    }

    /// Removes `key` if it still names `bridge` (a newer state may have taken the same address).
    void erase(std::uintptr_t key, const coroutine_bridge* bridge) noexcept {
        std::lock_guard lock(mutex_);
        const auto found = entries_.find(key);
        if (found != entries_.end() && found->second.bridge == bridge) entries_.erase(found);
    }

private:
    struct entry {
        const coroutine_bridge* bridge;
        std::weak_ptr<coroutine_bridge> weak;
    };
    std::mutex mutex_;
    std::unordered_map<std::uintptr_t, entry> entries_;
};

/// The identity of a cancellation state: its child slot designates the state's own signal.
inline std::uintptr_t state_key(const asio::cancellation_state& state) noexcept {
    static_assert(sizeof(asio::cancellation_slot) == sizeof(std::uintptr_t) &&
                      std::is_trivially_copyable_v<asio::cancellation_slot>,
                  "asio::cancellation_slot is expected to be one pointer");
    return std::bit_cast<std::uintptr_t>(state.slot());
}

class coroutine_bridge {
public:
    coroutine_bridge() = default;
    coroutine_bridge(const coroutine_bridge&) = delete;
    coroutine_bridge& operator=(const coroutine_bridge&) = delete;
    ~coroutine_bridge() {
        if (key_ != 0) bridge_registry::instance().erase(key_, this);
    }

    halt::token token() const noexcept { return source_.token(); }
    void cancel(std::error_code reason) { source_.cancel(reason); }
    void set_key(std::uintptr_t key) noexcept { key_ = key; }

private:
    halt::source source_;
    std::uintptr_t key_ = 0;
};

/// The incoming filter of a bridged state: Asio's default filter, plus cancelling the bridge. Runs
/// where the coroutine's parent emits (its executor); the halt callbacks run there too, and an
/// exception from one leaves through Asio's run(), as any handler's would.
struct bridge_filter {
    std::shared_ptr<coroutine_bridge> bridge;

    asio::cancellation_type_t operator()(asio::cancellation_type_t type) const {
        const asio::cancellation_type_t passed = asio::enable_terminal_cancellation()(type);
        if (passed != asio::cancellation_type::none) bridge->cancel(current_emit_reason());
        return passed;
    }
};

/// The token of the coroutine that `thread` runs (an Asio awaitable thread: it offers
/// get_cancellation_state() and reset_cancellation_state(in, out)). Installs the bridge on first use.
template <class Thread>
halt::token coroutine_token(Thread& thread) {
    const asio::cancellation_state state = thread.get_cancellation_state();
    // No parent slot (spawned with asio::detached, for example): nothing can cancel the coroutine.
    if (!state.slot().is_connected()) return halt::token{};
    bridge_registry& registry = bridge_registry::instance();
    if (auto bridge = registry.find(state_key(state))) return bridge->token();
    if (state.cancelled() != asio::cancellation_type::none) {
        // Cancelled before any bridge existed (reachable with throw_if_cancelled(false)): resetting
        // the state would forget that, so hand out a token that is already cancelled.
        halt::source cancelled;
        cancelled.cancel();
        return cancelled.token();
    }
    auto bridge = std::make_shared<coroutine_bridge>();
    thread.reset_cancellation_state(bridge_filter{bridge}, asio::enable_terminal_cancellation());
    const std::uintptr_t key = state_key(thread.get_cancellation_state());
    bridge->set_key(key);
    registry.insert(key, bridge);
    return bridge->token();
}

}  // namespace halt::asio_detail
