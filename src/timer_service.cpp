#include "timer_service.hpp"

#include <algorithm>
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
    slot.when = when;
    if (slot.heap_index == timer_slot::not_scheduled) {
        heap_.push_back({when, &s});
        sift_up(heap_.size() - 1, {when, &s});
    } else {
        // Moving either way: one of the two sifts leaves it in place.
        sift_up(slot.heap_index, {when, &s});
        sift_down(slot.heap_index, {when, &s});
    }
    if (stopping_) return;
    ensure_thread_started();
    if (when < wake_at_) {
        wake_at_ = when;
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
    std::vector<state*> due;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const clock::rep now = clock::now().time_since_epoch().count();
        // Take every expired deadline in one go, then cancel them unlocked, so
        // that a burst costs one lock round trip rather than one per deadline.
        while (!heap_.empty() && heap_.front().when <= now) {
            state* const owner = heap_.front().owner;
            erase(0);
            // A state whose last reference is gone needs no cancel.
            if (owner->try_add_reference()) due.push_back(owner);
        }
        if (!due.empty()) {
            lock.unlock();
            for (state* owner : due) {
                try {
                    owner->cancel(make_error_code(errc::deadline_exceeded));
                } catch (...) {
                    // A callback threw on the timer thread, where no caller can
                    // catch it. As with an exception escaping a .NET timer
                    // callback, this ends the process rather than losing it.
                    std::terminate();
                }
                owner->release_reference();
            }
            due.clear();
            lock.lock();
            continue;
        }
        wake_at_ = heap_.empty() ? no_deadline : heap_.front().when;
        if (wake_at_ == no_deadline) {
            wake_.wait(lock);
        } else {
            wake_.wait_until(lock, clock::time_point(clock::duration(wake_at_)));
        }
        wake_at_ = 0;  // awake: a new deadline needs no notify until we sleep again
    }
}

void timer_service::place(std::size_t index, entry e) noexcept {
    heap_[index] = e;
    e.owner->timer().heap_index = index;
}

void timer_service::erase(std::size_t index) noexcept {
    heap_[index].owner->timer().heap_index = timer_slot::not_scheduled;
    const entry last = heap_.back();
    heap_.pop_back();
    if (index == heap_.size()) return;
    sift_up(index, last);
    sift_down(last.owner->timer().heap_index, last);
}

void timer_service::sift_up(std::size_t index, entry moving) noexcept {
    while (index > 0) {
        const std::size_t parent = (index - 1) / arity;
        if (heap_[parent].when <= moving.when) break;
        place(index, heap_[parent]);
        index = parent;
    }
    place(index, moving);
}

void timer_service::sift_down(std::size_t index, entry moving) noexcept {
    const std::size_t size = heap_.size();
    for (;;) {
        const std::size_t first = arity * index + 1;
        if (first >= size) break;
        std::size_t best = first;
        const std::size_t last = std::min(first + arity, size);
        for (std::size_t child = first + 1; child < last; ++child)
            if (heap_[child].when < heap_[best].when) best = child;
        if (heap_[best].when >= moving.when) break;
        place(index, heap_[best]);
        index = best;
    }
    place(index, moving);
}

}  // namespace halt::detail
