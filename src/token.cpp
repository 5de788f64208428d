// The out-of-line members of halt::token: throwing and blocking waits.

#include <halt/token.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <halt/canceled_error.hpp>

namespace halt {
namespace detail {

/// A blocking wait, registered like a callback. It lives on the waiting
/// thread's stack: no allocation.
struct waiter : callback_node {
    std::mutex mutex;
    std::condition_variable woken;
    bool finished = false;  // guarded by mutex
};

void run_waiter(callback_node& node, const std::error_code&) {
    auto& self = static_cast<waiter&>(node);
    // Notify under the mutex: the waiter cannot return (and destroy the
    // condition variable) before we let go of it.
    std::lock_guard lock(self.mutex);
    self.finished = true;
    self.woken.notify_all();
}

}  // namespace detail

void token::throw_canceled() const { throw canceled_error(*this); }

bool token::wait() const { return wait_until_steady(std::chrono::steady_clock::time_point::max()); }

bool token::wait_until_steady(std::chrono::steady_clock::time_point time) const {
    if (is_cancellation_requested()) return true;
    const bool forever = time == std::chrono::steady_clock::time_point::max();
    if (!can_be_canceled()) {
        // Waiting forever for something that can never happen is a hang.
        if (!forever) std::this_thread::sleep_until(time);
        return is_cancellation_requested();
    }
    detail::waiter waiter;
    waiter.run = &detail::run_waiter;
    state_->announce_waiter();
    if (!state_->attach(waiter)) return true;  // cancelled meanwhile
    // If the last source went meanwhile, its release may have missed us.
    if (state_->has_sources_seq_cst()) {
        std::unique_lock lock(waiter.mutex);
        const auto finished = [&] { return waiter.finished; };
        if (forever) {
            waiter.woken.wait(lock, finished);
        } else {
            waiter.woken.wait_until(lock, time, finished);
        }
    }
    detail::state::detach_or_wait(waiter);
    return is_cancellation_requested();
}

}  // namespace halt
