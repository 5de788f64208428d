#include "timer_service.hpp"

#include <exception>

namespace halt::detail {
namespace {

/// Joins the timer thread during static destruction, so the process exits
/// with no thread left running. Constructed on first use of the service,
/// hence destroyed before any static object that existed earlier; such an
/// object may still remove its deadline afterwards (the service is never
/// freed), it just never fires.
struct shut_down_at_exit {
    timer_service* service;
    ~shut_down_at_exit() { service->shut_down(); }
};

}  // namespace

timer_service& timer_service::instance() {
    static timer_service* const service = new timer_service();
    static const shut_down_at_exit guard{service};
    return *service;
}

void timer_service::schedule(state& s, clock::rep when) {
    std::unique_lock lock(mutex_);
    timer_slot& slot = s.timer();
    const bool was_first = !heap_.empty() && heap_.front() == &s;
    if (slot.heap_index == timer_slot::not_scheduled) {
        slot.when = when;
        push(s);
    } else {
        const clock::rep previous = slot.when;
        slot.when = when;
        if (when < previous) {
            sift_up(slot.heap_index);
        } else {
            sift_down(slot.heap_index);
        }
    }
    if (stopping_) return;
    ensure_thread_started();
    // Wake the thread only when the earliest deadline changed.
    if (heap_.front() == &s || was_first) {
        lock.unlock();
        wake_.notify_one();
    }
}

void timer_service::remove(state& s) noexcept {
    std::lock_guard lock(mutex_);
    const std::size_t index = s.timer().heap_index;
    if (index != timer_slot::not_scheduled) erase(index);
    // No wake-up: a thread sleeping until a removed deadline wakes once for
    // nothing, which is cheaper than waking it now.
}

std::size_t timer_service::pending() noexcept {
    std::lock_guard lock(mutex_);
    return heap_.size();
}

void timer_service::shut_down() noexcept {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void timer_service::ensure_thread_started() {
    if (started_) return;
    started_ = true;
    thread_ = std::thread([this] { run(); });
}

void timer_service::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (heap_.empty()) {
            wake_.wait(lock);
            continue;
        }
        state* first = heap_.front();
        const clock::time_point due{clock::duration(first->timer().when)};
        if (clock::now() < due) {
            wake_.wait_until(lock, due);
            continue;
        }
        erase(0);
        // The state may be on its way out (its last reference dropped, its
        // destructor blocked on our mutex in remove()); then it needs no cancel.
        if (!first->try_add_reference()) continue;
        lock.unlock();
        try {
            first->cancel(make_error_code(errc::deadline_exceeded));
        } catch (...) {
            // A callback threw on the timer thread, where no caller can catch
            // it. As with an exception escaping a .NET timer callback, this
            // ends the process rather than losing the error silently.
            std::terminate();
        }
        first->release_reference();
        lock.lock();
    }
}

void timer_service::place(std::size_t index, state* s) noexcept {
    heap_[index] = s;
    s->timer().heap_index = index;
}

void timer_service::push(state& s) {
    heap_.push_back(&s);
    s.timer().heap_index = heap_.size() - 1;
    sift_up(heap_.size() - 1);
}

void timer_service::erase(std::size_t index) noexcept {
    state* removed = heap_[index];
    removed->timer().heap_index = timer_slot::not_scheduled;
    state* last = heap_.back();
    heap_.pop_back();
    if (index == heap_.size()) return;
    place(index, last);
    sift_up(index);
    sift_down(last->timer().heap_index);
}

void timer_service::sift_up(std::size_t index) noexcept {
    state* moving = heap_[index];
    while (index > 0) {
        const std::size_t parent = (index - 1) / 2;
        if (heap_[parent]->timer().when <= moving->timer().when) break;
        place(index, heap_[parent]);
        index = parent;
    }
    place(index, moving);
}

void timer_service::sift_down(std::size_t index) noexcept {
    state* moving = heap_[index];
    const std::size_t size = heap_.size();
    for (;;) {
        std::size_t child = 2 * index + 1;
        if (child >= size) break;
        if (child + 1 < size && heap_[child + 1]->timer().when < heap_[child]->timer().when) ++child;
        if (heap_[child]->timer().when >= moving->timer().when) break;
        place(index, heap_[child]);
        index = child;
    }
    place(index, moving);
}

}  // namespace halt::detail
