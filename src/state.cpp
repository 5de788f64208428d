// The cold half of the protocol described in include/halt/detail/state.hpp:
// cancelling, teardown, deadlines and resets.

#include <halt/detail/state.hpp>

#include <algorithm>
#include <bit>
#include <memory>
#include <mutex>
#include <new>

#include <halt/callback_errors.hpp>

#include "timer_service.hpp"

namespace halt::detail {

namespace {

constexpr std::uint64_t reference_mask = 0xffffffffu;

unsigned shard_count() noexcept {
    // Twice the hardware threads: slots are handed out round-robin, so fewer
    // threads collide on a shard than with one shard per core.
    static const unsigned count = std::bit_ceil(std::clamp(2 * std::thread::hardware_concurrency(), 8u, 128u));
    return count;
}

}  // namespace

unsigned assign_thread_slot() noexcept {
    static std::atomic<unsigned> next{1};
    const unsigned slot = next.fetch_add(1, std::memory_order_relaxed);
    return slot == 0 ? 1 : slot;  // 0 means "unassigned" to the caller
}

// --- lifetime -------------------------------------------------------------

state* state::create(std::size_t link_count) {
    // The parent links live in the same allocation, right after the state.
    void* memory = ::operator new(sizeof(state) + link_count * sizeof(link_node));
    return ::new (memory) state(link_count);
}

state::state(std::size_t link_count) noexcept {
    home_.owner = this;
    if (link_count == 0) return;
    auto* first = reinterpret_cast<link_node*>(reinterpret_cast<std::byte*>(this) + sizeof(state));
    std::uninitialized_default_construct_n(first, link_count);
    links_ = std::launder(first);
    link_count_ = link_count;
    for (std::size_t i = 0; i < link_count; ++i) {
        links_[i].child = this;
        links_[i].run = &run_link;
    }
}

state::~state() { delete[] shards_.load(std::memory_order_relaxed); }

void state::destroy() noexcept {
    const std::size_t bytes = sizeof(state) + link_count_ * sizeof(link_node);
    std::destroy_n(links_, link_count_);
    this->~state();
    ::operator delete(static_cast<void*>(this), bytes);
}

bool state::try_add_reference() noexcept {
    std::uint64_t counts = counts_.load(std::memory_order_relaxed);
    do {
        if ((counts & reference_mask) == 0) return false;
    } while (!counts_.compare_exchange_weak(counts, counts + one_reference, std::memory_order_relaxed));
    return true;
}

void state::release_source_shared() noexcept {
    constexpr std::uint64_t source_only = one_source - one_reference;
    if (counts_.load(std::memory_order_acquire) == one_source) {
        // The only handle, but a timer or a parent may still reach the state
        // through a raw pointer. Detach while still counted (no one can
        // observe the count), then, if none of them took a reference
        // meanwhile, nothing can any more: free without touching the count.
        last_source_released();
        if (counts_.load(std::memory_order_acquire) == one_source) {
            last_reference_released();
            return;
        }
        counts_.fetch_sub(source_only, std::memory_order_seq_cst);
        release_reference();
        return;
    }
    // Drop the source count first and keep our reference while detaching, so
    // that the state outlives the detach even if every token goes meanwhile.
    // Seq_cst pairs with announce_waiter() (see there).
    if ((counts_.fetch_sub(source_only, std::memory_order_seq_cst) >> 32) == 1) last_source_released();
    release_reference();
}

void state::last_source_released() noexcept {
    // Nothing can cancel this state any more: let go of everything that could
    // have, so that no timer entry or parent list keeps pointing at it.
    if (timer_used_) timer_service::instance().remove(*this);
    for (std::size_t i = 0; i < link_count_; ++i) detach_or_wait(links_[i]);
    if (std_parents_ != nullptr) {
        destroy_std_parent_links(std_parents_);
        std_parents_ = nullptr;
    }
    if (has_waiters_.load(std::memory_order_seq_cst) && !is_cancelled()) release_waiters();
}

void state::release_waiters() noexcept {
    // Each woken waiter is treated like a callback that ran: unlinked, a
    // reference for its owner, `done` set before the wake-up (after which the
    // node may vanish).
    for_each_list([&](callback_list& list) {
        std::lock_guard guard(list.lock);
        callback_node* node = list.head;
        while (node != nullptr) {
            callback_node* const next = node->next;
            if (node->run == &run_waiter) {
                list.unlink(*node);
                add_reference();
                node->done.store(true, std::memory_order_release);
                run_waiter(*node, {});
            }
            node = next;
        }
    });
}

void state::last_reference_released() noexcept {
    delete bridge_.load(std::memory_order_acquire);
    if ((flags_.load(std::memory_order_acquire) & cancelled_bit) != 0) {
        // cancel() drained every list and nothing can be queued again; every
        // owner that could still touch a list holds a reference, and there are
        // none left (see "Callbacks that ran").
        destroy();
        return;
    }
    if (no_callbacks_and_no_owner_inside()) {
        destroy();
        return;
    }
    // Count the callbacks still registered, holding every list lock so that no
    // removal slips between the count and the orphan mark.
    home_.lock.lock();
    callback_shard* const shards = shards_.load(std::memory_order_relaxed);
    const unsigned shard_total = shards != nullptr ? shard_mask_ + 1 : 0;
    for (unsigned i = 0; i < shard_total; ++i) shards[i].list.lock.lock();
    std::size_t remaining = home_.size.load(std::memory_order_relaxed);
    for (unsigned i = 0; i < shard_total; ++i) remaining += shards[i].list.size.load(std::memory_order_relaxed);
    if (remaining != 0) {
        orphaned_ = true;
        orphan_count_.store(remaining, std::memory_order_relaxed);
    }
    for (unsigned i = 0; i < shard_total; ++i) shards[i].list.lock.unlock();
    home_.lock.unlock();
    if (remaining == 0) destroy();
}

bool state::no_callbacks_and_no_owner_inside() const noexcept {
    // With no references left, only the owner of a queued callback can still
    // touch a list (to remove it). If the home list is unlocked, then empty,
    // then still unlocked, no such owner exists or is inside its critical
    // section: reading its release store of `size` orders its lock before our
    // second look, which would then see it held (or see its unlock, after
    // which it no longer touches the state). This saves the lock round trip
    // on the most common teardown, a source that finished uncancelled.
    if (shards_.load(std::memory_order_acquire) != nullptr) return false;
    return !home_.lock.is_locked() && home_.size.load(std::memory_order_acquire) == 0 && !home_.lock.is_locked();
}

void state::orphan_node_removed() noexcept {
    // Acq_rel: the last remover frees the state and must see the others' writes.
    if (orphan_count_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy();
}

// --- registration -------------------------------------------------------

callback_list& state::lock_shard_contended() noexcept {
    // Another thread holds the home lock: this state is registered on from
    // several threads at once. Give each thread slot a list of its own.
    // Installed under the home lock: see the protocol in state.hpp.
    home_.lock.lock();
    callback_shard* shards = shards_.load(std::memory_order_relaxed);
    if (shards == nullptr) {
        const unsigned count = shard_count();
        shards = new (std::nothrow) callback_shard[count];
        // Out of memory: keep the home lock; the home list is always correct.
        if (shards == nullptr) return home_;
        for (unsigned i = 0; i < count; ++i) shards[i].list.owner = this;
        shard_mask_ = count - 1;
        // Release: publishes the array and its mask to lock-free readers.
        shards_.store(shards, std::memory_order_release);
    }
    home_.lock.unlock();
    callback_list& list = shards[this_thread_slot() & shard_mask_].list;
    list.lock.lock();
    return list;
}

void state::settle_not_queued(callback_node& node, callback_list& list) noexcept {
    if (executing_.load(std::memory_order_relaxed) != &node) {
        // Finished or forgotten by try_reset: `done` is set (under this lock)
        // and a reference is ours to drop.
        const bool ran = node.done.load(std::memory_order_relaxed);
        list.lock.unlock();
        node.list = nullptr;
        if (ran) release_reference();
        return;
    }
    if (canceller_ == std::this_thread::get_id()) {
        // Destroyed from inside a callback of this cancel, on this thread. The
        // callback is up our own stack: waiting would never end. Clearing
        // executing_ tells the cancel loop the node is gone.
        executing_.store(nullptr, std::memory_order_relaxed);
        list.lock.unlock();
        node.list = nullptr;
        return;
    }
    node.has_waiter = true;
    list.lock.unlock();
    // Our reference (taken by the canceller when it sets `done`) keeps the
    // state alive until we drop it below.
    while (!node.done.load(std::memory_order_acquire)) node.done.wait(false, std::memory_order_acquire);
    node.list = nullptr;
    release_reference();
}

// --- cancelling ---------------------------------------------------------

bool state::cancel(std::error_code reason) {
    if (!reason) reason = make_error_code(errc::canceled);
    home_.lock.lock();
    if ((flags_.load(std::memory_order_relaxed) & cancelled_bit) != 0) {
        home_.lock.unlock();
        return false;
    }
    reason_value_ = reason.value();
    reason_category_ = &reason.category();
    // Release: a reader that sees the bit also sees the reason.
    flags_.store(cancelled_bit, std::memory_order_release);
    // Stable while we hold the home lock: shards are installed only under it.
    callback_shard* const shards = shards_.load(std::memory_order_relaxed);
    const bool timer_armed = timer_used_;
    // A copy (one reference on the std state, only when a bridge exists), so
    // that stopping it is safe even if a std callback frees this state.
    std::stop_source bridged{std::nostopstate};
    if (std::stop_source* bridge = bridge_.load(std::memory_order_relaxed)) bridged = *bridge;
    if (home_.head == nullptr && shards == nullptr) {
        home_.lock.unlock();
        bridged.request_stop();
        if (timer_armed) timer_service::instance().remove(*this);
        return true;
    }
    // A callback may destroy the last handle to this state (even the source
    // this cancel was called on): keep one reference until the loop is done,
    // plus one for each queued node (see "Callbacks that ran").
    std::uint64_t reserved = 1 + home_.size.load(std::memory_order_relaxed);
    counts_.fetch_add(reserved, std::memory_order_relaxed);
    // Read by owners only after they see executing_ (published under a list
    // lock below), so it need not be written under the home lock.
    canceller_ = std::this_thread::get_id();
    home_.lock.unlock();
    // The std::stop_token goes first, so that a halt callback handing it to
    // std-based code finds it stopped, as the halt token already reads.
    bridged.request_stop();

    std::vector<std::exception_ptr> errors;
    std::uint64_t ran = 0;
    // Shards hold the registrations made since contention began, so they are
    // newer than everything in the home list: drain them first.
    if (shards != nullptr) {
        for (unsigned i = 0; i <= shard_mask_; ++i) {
            callback_list& list = shards[i].list;
            list.lock.lock();
            const std::size_t queued = list.size.load(std::memory_order_relaxed);
            if (queued != 0) counts_.fetch_add(queued, std::memory_order_relaxed);
            reserved += queued;
            ran += drain(list, reason, errors);
        }
    }
    home_.lock.lock();
    ran += drain(home_, reason, errors);

    if (timer_armed) timer_service::instance().remove(*this);
    release_references(reserved - ran);
    if (!errors.empty()) throw callback_errors(std::move(errors));
    return true;
}

std::uint64_t state::drain(callback_list& list, const std::error_code& reason,
                           std::vector<std::exception_ptr>& errors) {
    // Entered with list.lock held; leaves it released. Returns how many nodes
    // ran and still exist (their owners each get a reference).
    std::uint64_t ran = 0;
    while (callback_node* node = list.head) {
        list.unlink(*node);
        executing_.store(node, std::memory_order_relaxed);  // ordered by list.lock
        list.lock.unlock();
        try {
            node->run(*node, reason);
        } catch (...) {
            errors.push_back(std::current_exception());
        }
        list.lock.lock();
        // Cleared meanwhile only by the node's own destruction on this thread.
        const bool destroyed = executing_.load(std::memory_order_relaxed) != node;
        executing_.store(nullptr, std::memory_order_relaxed);
        if (!destroyed) {
            // The owner may be blocked in its destructor on another thread. Both
            // writes happen under the lock, so an owner that locks next sees
            // either "still executing" (and waits for done) or "finished".
            const bool wake = node->has_waiter;
            node->done.store(true, std::memory_order_release);
            if (wake) node->done.notify_all();
            ++ran;
        }
    }
    list.lock.unlock();
    return ran;
}

void state::run_link(callback_node& node, const std::error_code& reason) {
    state* const child = static_cast<link_node&>(node).child;
    // The child is alive (its detach waits for this callback), but it may be on
    // its way out; a reference keeps it alive while its own callbacks run.
    if (!child->try_add_reference()) return;
    struct release_on_exit {
        state* held;
        ~release_on_exit() { held->release_reference(); }
    } release{child};
    child->cancel(reason);
}

// --- deadlines ----------------------------------------------------------

void state::set_deadline(clock::rep when) {
    if (when != no_deadline && when <= clock::now().time_since_epoch().count()) {
        cancel(make_error_code(errc::deadline_exceeded));
        return;
    }
    {
        // Under the home lock so that concurrent calls reach the timer in the
        // same order as they write own_deadline_ (the last one wins in both).
        std::lock_guard guard(home_.lock);
        if ((flags_.load(std::memory_order_relaxed) & cancelled_bit) != 0) return;
        own_deadline_.store(when, std::memory_order_relaxed);
        if (when == no_deadline) {
            if (timer_used_) timer_service::instance().remove(*this);
        } else {
            timer_used_ = true;
            timer_service::instance().schedule(*this, when);
        }
    }
    refresh_effective_deadline();
}

void state::refresh_effective_deadline() noexcept {
    clock::rep deadline = no_deadline;
    {
        // Serialises recomputations coming from several parents at once.
        std::lock_guard guard(home_.lock);
        deadline = own_deadline_.load(std::memory_order_relaxed);
        for (std::size_t i = 0; i < link_count_; ++i)
            deadline = std::min(deadline, links_[i].inherited.load(std::memory_order_relaxed));
        if (deadline == effective_deadline_.load(std::memory_order_relaxed)) return;
        effective_deadline_.store(deadline, std::memory_order_relaxed);
    }
    for_each_list([&](callback_list& list) { push_deadline_to_children(list, deadline); });
}

void state::push_deadline_to_children(callback_list& list, clock::rep deadline) noexcept {
    // Holding a parent's list lock while taking a child's is safe: links go
    // from parent to child only, so every thread takes these locks in the
    // same direction. The lock also keeps each child alive (its detach needs it).
    std::lock_guard guard(list.lock);
    for (callback_node* node = list.head; node != nullptr; node = node->next) {
        if (node->run != &run_link) continue;
        auto& link = static_cast<link_node&>(*node);
        link.inherited.store(deadline, std::memory_order_relaxed);
        link.child->refresh_effective_deadline();
    }
}

// --- reset --------------------------------------------------------------

bool state::try_reset() {
    {
        std::lock_guard guard(home_.lock);
        if ((flags_.load(std::memory_order_relaxed) & cancelled_bit) != 0) return false;
        forget_user_callbacks(home_);
        own_deadline_.store(no_deadline, std::memory_order_relaxed);
        if (timer_used_) timer_service::instance().remove(*this);
    }
    if (callback_shard* shards = shards_.load(std::memory_order_acquire)) {
        for (unsigned i = 0; i <= shard_mask_; ++i) {
            std::lock_guard guard(shards[i].list.lock);
            forget_user_callbacks(shards[i].list);
        }
    }
    refresh_effective_deadline();
    return true;
}

void state::forget_user_callbacks(callback_list& list) noexcept {
    // Children's links are the source's own plumbing, not registrations a
    // user made: they stay. A forgotten node is
    // treated as one that ran: `done` and a reference for its owner to drop,
    // so that its owner never needs the list lock again.
    std::uint64_t forgotten = 0;
    callback_node* node = list.head;
    while (node != nullptr) {
        callback_node* const next = node->next;
        if (node->run != &run_link) {
            list.unlink(*node);
            node->done.store(true, std::memory_order_release);
            ++forgotten;
        }
        node = next;
    }
    if (forgotten != 0) counts_.fetch_add(forgotten, std::memory_order_relaxed);
}

template <class Visit>
void state::for_each_list(Visit&& visit) {
    if (callback_shard* shards = shards_.load(std::memory_order_acquire)) {
        for (unsigned i = 0; i <= shard_mask_; ++i) visit(shards[i].list);
    }
    visit(home_);
}

}  // namespace halt::detail
