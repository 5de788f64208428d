// The out-of-line members of halt::token: throwing and blocking waits.

#include <halt/token.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <halt/callback.hpp>
#include <halt/canceled_error.hpp>

namespace halt {

void token::throw_canceled() const { throw canceled_error(*this); }

bool token::wait() const {
    // Waiting forever on something that can never happen is a hang, not a wait.
    if (!can_be_canceled()) return is_cancellation_requested();
    return wait_until_steady(std::chrono::steady_clock::time_point::max());
}

bool token::wait_until_steady(std::chrono::steady_clock::time_point time) const {
    if (is_cancellation_requested()) return true;
    const bool forever = time == std::chrono::steady_clock::time_point::max();
    if (!can_be_canceled()) {
        if (!forever) std::this_thread::sleep_until(time);
        return is_cancellation_requested();
    }
    std::mutex mutex;
    std::condition_variable woken;
    bool cancelled = false;
    // Declared after the mutex and condition variable, so destroyed first: its
    // destructor waits for a wake-up running on the cancelling thread, which
    // therefore never touches them after they are gone.
    callback wake{*this, [&]() noexcept {
                      std::lock_guard lock(mutex);
                      cancelled = true;
                      woken.notify_all();
                  }};
    std::unique_lock lock(mutex);
    if (forever) {
        woken.wait(lock, [&] { return cancelled; });
    } else {
        woken.wait_until(lock, time, [&] { return cancelled; });
    }
    return cancelled;
}

}  // namespace halt
