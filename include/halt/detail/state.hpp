#pragma once
// The shared state behind a source and its tokens, and the whole atomic
// protocol of halt in one place. Hot paths (checks, registration) are inline;
// the cold ones (cancel, teardown, linking, deadlines) live in src/state.cpp.
//
// ## The words
// - `flags_`: bit 0 is "cancellation requested". Written once, under the home
//   list's lock, with release, after the reason is written; readers load it
//   with acquire and may then read the reason.
// - `counts_`: low 32 bits count references (tokens, sources and internal
//   holders), high 32 bits count sources. When the sources reach zero the state
//   can never be cancelled any more, so it detaches from its timer and parents
//   at once. When the references reach zero it is freed, unless callbacks are
//   still registered (see "Orphans").
//
// ## Registration against cancel
// A thread registers by locking one callback list, reading `flags_`, and
// inserting only if not cancelled. cancel() sets `flags_` while holding the home
// list's lock and then locks every list in turn to drain it. The list lock
// orders the two: if the registrar locked first, cancel finds its node; if
// cancel locked that list first, the registrar's lock acquire synchronises with
// cancel's unlock and it sees the flag, so it runs the callback itself. No
// callback is lost and none runs twice.
//
// Order: each list is LIFO, and shards (created at the first contention, so
// holding only registrations made after it) are drained before the home list.
// Registrations that happen one after another on different threads can land
// in different shards, and then run shard by shard: exact global LIFO would
// need a shared counter, the very cache line the shards exist to avoid.
//
// Shards are installed only under the home lock, and cancel reads the shard
// pointer under the home lock after setting the flag. A registrar that installs
// shards therefore either did so before cancel looked (cancel drains them) or
// acquired the home lock after cancel released it (and sees the flag).
//
// ## Unregister against a running callback
// cancel() pops a node and records it in `executing_`, both under the node's
// list lock, then runs it unlocked. An owner that finds its node neither in the
// list nor executing knows the callback finished or never ran. If it is
// executing on another thread, the owner marks `has_waiter` under the lock and
// sleeps on the node's `done`. If it is executing on this very thread, the owner
// is being destroyed from inside a callback of the same cancel (directly or
// through a chain of linked sources): waiting would deadlock (.NET runtime
// #43438), so it only clears `executing_`, which tells the cancel loop not to
// touch the node again.
//
// ## Orphans
// A `callback` holds a raw pointer to the state, not a reference, so that
// registering costs no reference-count traffic. The price: the last handle can
// go while callbacks are still registered. The final release then locks every
// list, counts the nodes and marks the state orphaned; each later removal
// (which reads the mark under its list lock) counts down, and the last frees
// the state.
//
// ## Callbacks that ran
// Once cancel() has run a node, the node is in no list, so the orphan count
// cannot protect it, yet its owner will still look at the state when it is
// destroyed. So before draining a list the canceller reserves one reference
// per queued node (one addition, using the list's size), hands one to each
// node it runs by setting the node's `done` with release, and gives back the
// unused ones (nodes removed meanwhile) at the end. An owner that sees `done` drops that reference without
// touching anything else; an owner that does not see it is either queued
// (protected by the orphan count) or running (protected by the canceller's
// own reference until `done` is set). A node destroyed on the cancelling
// thread while running is not counted: its owner is gone. try_reset treats
// the nodes it forgets the same way (`done` plus a reference), so after a
// cancel no owner ever locks a list without holding a reference: teardown of
// a cancelled state needs no lock at all.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <stop_token>
#include <system_error>
#include <thread>
#include <vector>

#include <halt/detail/callback_node.hpp>
#include <halt/detail/spin_lock.hpp>
#include <halt/errc.hpp>

namespace halt::detail {

/// Deadlines are stored as steady_clock ticks so they fit one atomic word.
using clock = std::chrono::steady_clock;
inline constexpr clock::rep no_deadline = std::numeric_limits<clock::rep>::max();

/// A small per-thread number (1, 2, ...) that picks the thread's shard.
unsigned assign_thread_slot() noexcept;
inline unsigned this_thread_slot() noexcept {
    static constinit thread_local unsigned slot = 0;
    if (slot == 0) slot = assign_thread_slot();
    return slot;
}

/// The registration a linked source holds on each parent. Lives inside the
/// child's allocation.
struct link_node : callback_node {
    state* child = nullptr;
    /// The parent's effective deadline, pushed down by the parent.
    std::atomic<clock::rep> inherited{no_deadline};
};

/// Where a state sits in the timer heap. Guarded by the timer service's mutex.
struct timer_slot {
    static constexpr std::size_t not_scheduled = std::numeric_limits<std::size_t>::max();
    std::size_t heap_index = not_scheduled;
    clock::rep when = no_deadline;
};

// Defined beside the code that owns them, in src/.
struct std_parent_links;  // callbacks on std::stop_token parents (linked_source.cpp)
void destroy_std_parent_links(std_parent_links* links) noexcept;
/// The run function of a blocking wait's node (token.cpp). The release of the
/// last source recognises such nodes by it and wakes them: nothing can cancel
/// the state any more, so the wait is over.
void run_waiter(callback_node& node, const std::error_code& reason);

class state {
public:
    static constexpr std::uint32_t cancelled_bit = 1;
    static constexpr std::uint64_t one_reference = 1;
    static constexpr std::uint64_t one_source = (std::uint64_t{1} << 32) | one_reference;

    /// A new state with one source (and so one reference) and room for
    /// `link_count` parent links. Throws std::bad_alloc.
    static state* create(std::size_t link_count = 0);

    state(const state&) = delete;
    state& operator=(const state&) = delete;

    // --- observing ------------------------------------------------------

    /// One acquire load: pairs with the release in cancel() so that `reason()`
    /// is readable once this returns true.
    bool is_cancelled() const noexcept {
        return (flags_.load(std::memory_order_acquire) & cancelled_bit) != 0;
    }

    /// Valid only after is_cancelled() returned true (acquire).
    std::error_code reason() const noexcept { return {reason_value_, *reason_category_}; }

    bool can_be_cancelled() const noexcept {
        return is_cancelled() || (counts_.load(std::memory_order_relaxed) >> 32) != 0;
    }

    /// Announces a blocking wait before its node is attached. Seq_cst, as is
    /// the check of the source count that follows the attach and the count's
    /// final decrement: either the waiter sees that no source is left, or the
    /// last source's release sees the announcement and wakes it.
    void announce_waiter() noexcept { has_waiters_.store(true, std::memory_order_seq_cst); }
    bool has_sources_seq_cst() const noexcept { return (counts_.load(std::memory_order_seq_cst) >> 32) != 0; }

    clock::rep effective_deadline() const noexcept {
        return effective_deadline_.load(std::memory_order_relaxed);
    }

    // --- ownership ------------------------------------------------------

    /// Relaxed: a new handle is made from an existing one, which keeps the
    /// state alive; nothing is published by taking a reference.
    void add_reference() noexcept { counts_.fetch_add(one_reference, std::memory_order_relaxed); }
    void add_source() noexcept { counts_.fetch_add(one_source, std::memory_order_relaxed); }

    /// Takes a reference unless the count already reached zero. For internal
    /// holders (timer, parent links) that only have a raw pointer.
    bool try_add_reference() noexcept;

    /// Acq_rel: the thread that drops the last reference must see every write
    /// made through other handles before it tears the state down.
    void release_reference() noexcept {
        if ((counts_.fetch_sub(one_reference, std::memory_order_acq_rel) & 0xffffffffu) == 1)
            last_reference_released();
    }

    /// Drops a source handle. The sole handle of a state that nothing else
    /// can reach (no deadline, no parents) frees it without any atomic
    /// read-modify-write: no other thread can take a reference meanwhile.
    void release_source() noexcept {
        // Acquire first: once we are the only holder, every write made through
        // handles already released is visible and nobody else can write.
        if (counts_.load(std::memory_order_acquire) == one_source && !timer_used_ && link_count_ == 0 &&
            std_parents_ == nullptr) {
            last_reference_released();
            return;
        }
        release_source_shared();
    }

    /// Drops `count` references at once.
    void release_references(std::uint64_t count) noexcept {
        if (count != 0 && (counts_.fetch_sub(count, std::memory_order_acq_rel) & 0xffffffffu) == count)
            last_reference_released();
    }

    // --- cancelling -----------------------------------------------------

    /// Cancels with `reason` (an empty code becomes errc::canceled) and runs
    /// every registered callback on this thread, newest first. True for the
    /// call that cancelled. Throws callback_errors after running them all if
    /// any threw.
    bool cancel(std::error_code reason);

    /// Moves this state's own deadline (no_deadline disarms it). A deadline not
    /// in the future cancels now, on this thread.
    void set_deadline(clock::rep when);

    bool try_reset();

    // --- registration ---------------------------------------------------

    /// Inserts `node` unless already cancelled. Returns false, without
    /// inserting, when cancelled: the caller then runs the callback itself.
    /// `under_lock` runs after the insertion, still under the list's lock
    /// (linking uses it to read the parent's deadline race-free).
    struct nothing_under_lock {
        void operator()() const noexcept {}
    };
    template <class UnderLock = nothing_under_lock>
    bool attach(callback_node& node, UnderLock&& under_lock = {}) noexcept {
        if (is_cancelled()) return false;
        callback_list& list = lock_list_for_this_thread();
        // Acquire, under the list lock: see the protocol at the top.
        if ((flags_.load(std::memory_order_acquire) & cancelled_bit) != 0) {
            list.lock.unlock();
            return false;
        }
        list.push_front(node);
        node.list = &list;
        under_lock();
        list.lock.unlock();
        return true;
    }

    /// Removes `node` if it is still waiting to run. Never blocks for a
    /// running callback. True if the callback will not run.
    static bool try_detach(callback_node& node) noexcept {
        callback_list* list = node.list;
        // A node that ran may only touch the state to drop its reference.
        if (list == nullptr || node.done.load(std::memory_order_acquire)) return false;
        list->lock.lock();
        if (node.prev == nullptr) {
            list->lock.unlock();
            return false;
        }
        remove_locked(node, *list);
        return true;
    }

    /// Removes `node`, or, when its callback is running on another thread,
    /// blocks until it returns. Afterwards the callback never runs. Must be
    /// called exactly once for every node that was attached.
    static void detach_or_wait(callback_node& node) noexcept {
        callback_list* list = node.list;
        if (list == nullptr) return;
        // Acquire: pairs with the canceller's release of `done`; the node ran,
        // and the canceller took a reference on our behalf (see "Callbacks
        // that ran" above), which is what keeps the state alive to drop it.
        if (node.done.load(std::memory_order_acquire)) {
            node.list = nullptr;
            list->owner->release_reference();
            return;
        }
        list->lock.lock();
        if (node.prev != nullptr) {
            remove_locked(node, *list);
            return;
        }
        list->owner->settle_not_queued(node, *list);
    }

    // --- linking and interop ---------------------------------------------

    link_node* links() noexcept { return links_; }
    std::size_t link_count() const noexcept { return link_count_; }
    /// Recomputes the effective deadline from the own one and the parents',
    /// then pushes it to every linked child.
    void refresh_effective_deadline() noexcept;
    /// The std::stop_token stopped by this state's cancellation (see
    /// to_stop_token). Defined in src/stop_token_interop.cpp.
    std::stop_token bridged_stop_token();
    void set_std_parent_links(std_parent_links* links) noexcept { std_parents_ = links; }

    timer_slot& timer() noexcept { return timer_; }

    static void run_link(callback_node& node, const std::error_code& reason);

    /// Caller holds `list.lock`; `node` came from `list` but is no longer
    /// queued in it. Unlocks, and waits if the callback is running on another
    /// thread (see the protocol above). Used by destructors and moves.
    void settle_not_queued(callback_node& node, callback_list& list) noexcept;

private:
    explicit state(std::size_t link_count) noexcept;
    ~state();

    callback_list& lock_list_for_this_thread() {
        // Acquire pairs with the release that publishes the shard array.
        if (callback_shard* shards = shards_.load(std::memory_order_acquire)) {
            callback_list& list = shards[this_thread_slot() & shard_mask_].list;
            list.lock.lock();
            return list;
        }
        if (home_.lock.try_lock()) return home_;
        return lock_shard_contended();
    }

    /// Caller holds `list.lock` and `node` is in `list`. Unlocks.
    static void remove_locked(callback_node& node, callback_list& list) noexcept {
        list.unlink(node);
        state* owner = list.owner;
        const bool orphaned = owner->orphaned_;  // guarded by list.lock
        list.lock.unlock();
        node.list = nullptr;
        if (orphaned) owner->orphan_node_removed();
    }

    callback_list& lock_shard_contended() noexcept;
    void orphan_node_removed() noexcept;
    void last_reference_released() noexcept;
    void last_source_released() noexcept;
    void release_source_shared() noexcept;
    void release_waiters() noexcept;
    bool no_callbacks_and_no_owner_inside() const noexcept;
    std::uint64_t drain(callback_list& list, const std::error_code& reason, std::vector<std::exception_ptr>& errors);
    void forget_user_callbacks(callback_list& list) noexcept;
    void push_deadline_to_children(callback_list& list, clock::rep deadline) noexcept;
    template <class Visit> void for_each_list(Visit&& visit);
    void destroy() noexcept;

    // Read on every check; written once. Kept first so that a token check
    // touches one line.
    std::atomic<std::uint32_t> flags_{0};
    std::uint32_t shard_mask_ = 0;  // written before shards_ is published
    std::atomic<std::uint64_t> counts_{one_source};
    callback_list home_;
    std::atomic<callback_shard*> shards_{nullptr};

    // Written by the cancelling thread (see the protocol above).
    // The reason, as its two parts: a std::error_code member would cost a
    // call to std::system_category() in every constructor.
    int reason_value_ = 0;
    const std::error_category* reason_category_ = nullptr;
    std::thread::id canceller_;
    std::atomic<callback_node*> executing_{nullptr};

    std::atomic<clock::rep> own_deadline_{no_deadline};
    std::atomic<clock::rep> effective_deadline_{no_deadline};
    timer_slot timer_;
    bool timer_used_ = false;  // a deadline was ever set: the timer may hold a raw pointer

    std::atomic<bool> has_waiters_{false};
    bool orphaned_ = false;  // written under every list lock
    std::atomic<std::size_t> orphan_count_{0};

    // to_stop_token's std::stop_source, created on first use. Written under
    // the home lock (so cancel() sees it or the writer sees the cancel),
    // read without it; freed with the state.
    std::atomic<std::stop_source*> bridge_{nullptr};
    std_parent_links* std_parents_ = nullptr;
    link_node* links_ = nullptr;
    std::size_t link_count_ = 0;
};

}  // namespace halt::detail
