#include <halt/stop_token_interop.hpp>

#include <memory>

namespace halt {
namespace detail {

/// A registration on the halt state that stops a std::stop_source.
struct stop_bridge : callback_node {
    std::stop_source source;
};

void run_stop_bridge(callback_node& node, const std::error_code&) {
    static_cast<stop_bridge&>(node).source.request_stop();
}

void destroy_stop_bridge(stop_bridge* bridge) noexcept {
    state::detach_or_wait(*bridge);
    delete bridge;
}

}  // namespace detail

std::stop_token to_stop_token(const token& tok) {
    detail::state* const state = detail::token_access::get(tok);
    if (state == nullptr) return {};
    detail::stop_bridge* bridge = state->bridge().load(std::memory_order_acquire);
    if (bridge == nullptr) {
        if (!state->can_be_cancelled()) return {};
        auto fresh = std::make_unique<detail::stop_bridge>();
        fresh->run = &detail::run_stop_bridge;
        // Acq_rel: the winner publishes a fully built bridge; a loser must see
        // the winner's.
        if (state->bridge().compare_exchange_strong(bridge, fresh.get(), std::memory_order_acq_rel,
                                                    std::memory_order_acquire)) {
            bridge = fresh.release();
            if (!state->attach(*bridge)) bridge->source.request_stop();
        }
    }
    return bridge->source.get_token();
}

}  // namespace halt
