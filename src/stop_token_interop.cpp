#include <halt/stop_token_interop.hpp>

#include <memory>
#include <mutex>

namespace halt {
namespace detail {

std::stop_token state::bridged_stop_token() {
    // Acquire: pairs with the release below; the bridge lives as long as the
    // state, which the caller's token keeps alive.
    if (std::stop_source* bridge = bridge_.load(std::memory_order_acquire)) return bridge->get_token();
    // Allocate outside the spin lock; a racing caller may win, then ours goes.
    auto fresh = std::make_unique<std::stop_source>();
    std::lock_guard guard(home_.lock);
    std::stop_source* bridge = bridge_.load(std::memory_order_relaxed);
    if (bridge == nullptr) {
        if (!is_cancelled() && (counts_.load(std::memory_order_relaxed) >> 32) == 0) {
            return {};  // nothing can cancel this state any more
        }
        // Under the home lock: cancel() either sees this bridge and stops it,
        // or has already set the flag, which we see here.
        if (is_cancelled()) fresh->request_stop();
        bridge = fresh.release();
        bridge_.store(bridge, std::memory_order_release);
    }
    return bridge->get_token();
}

}  // namespace detail

std::stop_token to_stop_token(const token& tok) {
    detail::state* const state = detail::token_access::get(tok);
    return state != nullptr ? state->bridged_stop_token() : std::stop_token{};
}

}  // namespace halt
