#pragma once
// The process-wide deadline timer: one thread and a 4-ary min-heap of
// deadlines. Each entry keeps its deadline inline (so sifting compares one
// cache line of siblings instead of chasing pointers) and each state knows its
// index, so moving or removing a deadline is O(log n) with no search. Private
// to the library.

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
    struct entry {
        clock::rep when;
        state* owner;
    };
    static constexpr std::size_t arity = 4;

    void run();
    void ensure_thread_started();
    void erase(std::size_t index) noexcept;
    void sift_up(std::size_t index, entry moving) noexcept;
    void sift_down(std::size_t index, entry moving) noexcept;
    void place(std::size_t index, entry e) noexcept;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<entry> heap_;
    std::thread thread_;
    /// When the thread will wake by itself: a new deadline earlier than this
    /// needs a notify, a later one does not (saves a futex call and a context
    /// switch per deadline).
    clock::rep wake_at_ = no_deadline;
    bool started_ = false;
    bool stopping_ = false;
};

}  // namespace halt::detail
