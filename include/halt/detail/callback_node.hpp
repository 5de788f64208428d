#pragma once
// The intrusive list entry every registration embeds. No allocation happens on
// the registration path because the entry lives inside the registering object.

#include <atomic>
#include <cstddef>
#include <system_error>

#include <halt/detail/spin_lock.hpp>

namespace halt::detail {

class state;
struct callback_list;

struct callback_node {
    /// Runs the callback. Called by the cancelling thread with no lock held.
    using run_function = void (*)(callback_node&, const std::error_code& reason);

    callback_node* next = nullptr;
    /// The link that points at this node (the list head or the previous node's
    /// `next`). Null exactly when the node is not in a list. Guarded by the
    /// list's lock.
    callback_node** prev = nullptr;
    /// The list the node was inserted into, or null when there is nothing to
    /// undo (never inserted, ran at registration, or already removed). Read and
    /// written only by the thread that owns the registration.
    callback_list* list = nullptr;
    run_function run = nullptr;
    /// Set by the cancelling thread once `run` has returned. Read without the
    /// lock by an owner waiting in its destructor, hence atomic.
    std::atomic<bool> done{false};
    /// An owner is blocked waiting for `done`. Guarded by the list's lock.
    bool has_waiter = false;
};

/// A LIFO list of callback nodes with its lock. Every state has one (its "home"
/// list); a state registered on by several threads at once grows one per
/// thread slot so that registrations stop contending on one cache line.
struct callback_list {
    spin_lock lock;
    callback_node* head = nullptr;
    /// Written only under `lock` (release), read with it or, by teardown,
    /// without it (see state::no_callbacks_and_no_owner_inside). Lets cancel()
    /// reserve references up front.
    std::atomic<std::size_t> size{0};
    state* owner = nullptr;

    /// Newest first: cancellation walks from the head. Caller holds `lock`.
    void push_front(callback_node& node) noexcept {
        node.next = head;
        node.prev = &head;
        if (head != nullptr) head->prev = &node.next;
        head = &node;
        size.store(size.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    /// Caller holds `lock` and `node` is in this list.
    void unlink(callback_node& node) noexcept {
        size.store(size.load(std::memory_order_relaxed) - 1, std::memory_order_release);
        *node.prev = node.next;
        if (node.next != nullptr) node.next->prev = node.prev;
        node.prev = nullptr;
        node.next = nullptr;
    }
};

/// One shard per cache line so that threads in different slots never share one.
struct alignas(64) callback_shard {
    callback_list list;
};

}  // namespace halt::detail
