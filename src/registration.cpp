// Moving a registration that is still queued: relink it in place.

#include <halt/registration.hpp>

namespace halt {

void registration::take(registration& other) noexcept {
    detail::registration_node& from = other.node_;
    if (from.ops == nullptr) return;
    detail::callback_list* const list = from.list;
    if (list == nullptr || from.done.load(std::memory_order_acquire)) {
        // Never queued, or already ran: nothing to carry over.
        detail::state::detach_or_wait(from);
        other.drop_callable();
        return;
    }
    list->lock.lock();
    if (from.prev != nullptr) {
        // Still queued: put our node where theirs is. The cancelling thread
        // only reaches nodes through the list, under this lock.
        from.ops->relocate(from.storage, node_.storage);
        node_.ops = std::exchange(from.ops, nullptr);
        node_.run = from.run;
        node_.list = std::exchange(from.list, nullptr);
        node_.done.store(false, std::memory_order_relaxed);
        node_.has_waiter = false;
        node_.next = std::exchange(from.next, nullptr);
        node_.prev = std::exchange(from.prev, nullptr);
        *node_.prev = &node_;
        if (node_.next != nullptr) node_.next->prev = &node_.next;
        list->lock.unlock();
        return;
    }
    // Ran, running or forgotten: nothing to carry over once it has finished.
    list->owner->settle_not_queued(from, *list);
    other.drop_callable();
}

}  // namespace halt
