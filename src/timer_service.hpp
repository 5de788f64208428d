#pragma once
// The process-wide deadline timer: one thread and a binary heap of states,
// indexed from the states themselves so that moving or removing a deadline is
// O(log n) with no search. Private to the library.

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <halt/detail/state.hpp>

namespace halt::detail {

class timer_service {
public:
    /// The one instance, started on first use. Never destroyed (states may
    /// outlive static destruction); its thread is stopped and joined at exit.
    static timer_service& instance();

    /// Arms or moves `s`'s deadline to `when`. Thread-safe.
    void schedule(state& s, clock::rep when);

    /// Takes `s` out of the heap if it is there. After this returns the timer
    /// thread no longer touches `s` (it may still hold a reference it took
    /// earlier, and cancel with it). Thread-safe.
    void remove(state& s) noexcept;

    /// Stops and joins the thread; pending deadlines never fire afterwards.
    void shut_down() noexcept;

    std::size_t pending() noexcept;

private:
    timer_service() = default;
    void run();
    void ensure_thread_started();
    void push(state& s);
    void erase(std::size_t index) noexcept;
    void sift_up(std::size_t index) noexcept;
    void sift_down(std::size_t index) noexcept;
    void place(std::size_t index, state* s) noexcept;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<state*> heap_;  // min-heap on timer().when
    std::thread thread_;
    bool started_ = false;
    bool stopping_ = false;
};

}  // namespace halt::detail
