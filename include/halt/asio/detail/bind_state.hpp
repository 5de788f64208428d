#pragma once
// The state halt::bind adds to one Asio operation, and the protocol that lets a cancel() on any thread
// reach the operation's cancellation slot on the operation's own executor.
//
// ## Who touches the state
// - The initiating thread: creates the state, registers the halt callback, runs the wrapped initiation
//   (the operation installs its cancellation handler in `signal_`), then publishes `started_`, its
//   last access.
// - The cancelling thread ("poster", the halt callback, at most once): takes a reference and posts an
//   emitter to `executor_`. It never touches the signal: Asio's signals and slots are not thread-safe.
// - The executor ("emitter"): emits `signal_`, unless the operation has already completed.
// - The completion ("finish"): the bound handler being invoked or destroyed, on the handler's executor.
//
// The uncancelled path costs no atomic read-modify-write of its own: the halt registration's lock
// (taken once to register, once to unregister) is the only one. The word below is only touched once
// a cancellation has posted an emitter.
//
// ## Race: completion before the initiation has returned
// On a multi-threaded io_context the operation can complete on another thread while the initiation
// is still running, and the initiation may still touch the slot. finish() therefore waits (a short
// spin, release/acquire on `started_`) until the initiating thread has published `started_`; the
// initiating thread touches nothing afterwards. An operation that completes inline, inside its own
// initiation on the same thread, cannot wait for that: `initiating` (thread-local) detects it, and
// the initiating thread then frees the state itself once the initiation returns.
//
// ## Race: cancel during the initiation
// The callback is registered before the initiation, so a cancel() may post an emitter while the
// operation is still installing its slot handler. The emitter emits only once `started_` is set
// (acquire); before that it posts itself again, and once more after, so that it runs behind whatever
// the initiation queued on the same executor.
//
// ## Race: the registration against a cancel in progress
// Only finish() destroys the halt registration. The core's destructor of a registration whose
// callback is running on another thread waits for it to return, and its acquire of the callback's
// `done` makes the poster's writes (`posted_`, its reference) visible. So once the registration is
// gone the poster has finished its post: the completion, which may destroy the executor's context,
// never runs while a cancelling thread is still inside asio::post. The wait lasts one post.
//
// ## Race: emit against completion
// Once an emitter exists, finish() sets `done`, and if it saw `emitting` it waits for that emit to
// end before it lets the handler run (the handler may close the socket the emit is cancelling) or
// frees anything. The wait lasts at most one signal_.emit() on another thread, which only queues
// work. If that emit is on this very thread (an operation that completes from inside its
// cancellation handler), finish() skips the wait and the emitter, which holds its own reference,
// frees the state.
//
// ## Why post, never dispatch
// The halt callback runs inside source::cancel(), possibly on an io thread that is inside some other
// handler. Posting keeps the emit out of that stack: no Asio cancellation handler ever runs nested in
// a halt callback, and a cancel() issued from the completion handler of the very operation it cancels
// cannot re-enter it.

#include <atomic>
#include <cstdint>
#include <system_error>
#include <thread>
#include <utility>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include <halt/asio/detail/emit_context.hpp>
#include <halt/callback.hpp>
#include <halt/token.hpp>

namespace halt::asio_detail {

namespace asio = boost::asio;

/// What every halt cancellation emits into Asio: every kind at once, as Asio's parallel groups do, so
/// that each operation applies the strongest cancellation it supports.
inline constexpr asio::cancellation_type_t emitted_cancellation_type = asio::cancellation_type::all;

/// The bind state whose initiation is running on this thread (null outside one).
inline thread_local const void* initiating = nullptr;

template <class Executor>
class bind_state {
public:
    /// Allocates the state (Asio's per-thread recycling allocator: no malloc in steady state on an io
    /// thread), registers on `tok`, and, when the wrapped handler has a cancellation slot of its own,
    /// forwards that slot into ours so that both the halt token and the handler's own canceller reach
    /// the operation. Call launch() next.
    static bind_state* create(Executor&& executor, asio::cancellation_slot inner_slot, const halt::token& tok) {
        asio::recycling_allocator<bind_state> allocator;
        bind_state* state = allocator.allocate(1);
        ::new (static_cast<void*>(state)) bind_state(std::move(executor), inner_slot);
        if (inner_slot.is_connected()) {
            try {
                inner_slot.template emplace<forwarder>(state);
            } catch (...) {
                state->destroy();
                throw;
            }
        }
        // Built in place: a halt::callback never moves, so registering is one lock and no relinking.
        // If `tok` was cancelled meanwhile the poster runs right here; its emitter waits for launch().
        ::new (static_cast<void*>(&state->registration_.callback)) halt::callback<poster>(tok, poster{state});
        return state;
    }

    bind_state(const bind_state&) = delete;
    bind_state& operator=(const bind_state&) = delete;

    /// The slot the operation sees.
    asio::cancellation_slot slot() noexcept { return signal_.slot(); }

    /// Runs `initiate()` (which starts the operation with a handler bound to this state), then
    /// publishes `started_`. Rethrows what `initiate()` throws.
    template <class Initiate>
    void launch(Initiate&& initiate) {
        const void* const outer = std::exchange(initiating, this);
        struct on_exit {
            bind_state* self;
            const void* outer;
            ~on_exit() {
                initiating = outer;
                const bool finished = self->finished_inline_;  // read before `started_` lets go
                // Release: the initiation's writes (the slot handler) before finish() and emitters.
                self->started_.store(true, std::memory_order_release);
                if (finished) self->release_finish_reference();
            }
        } exit{this, outer};
        std::forward<Initiate>(initiate)();
    }

    /// Called once, on the handler's executor, when the bound handler is invoked or destroyed. After it
    /// returns no emit runs and the wrapped handler's slot no longer points here.
    void finish() noexcept {
        const bool inline_completion = initiating == this;
        if (!inline_completion) {
            // Acquire pairs with launch()'s release: the initiating thread is done with the state.
            while (!started_.load(std::memory_order_acquire)) std::this_thread::yield();
        }
        // Waits for a poster running on another thread (see "the registration against a cancel").
        registration_.callback.~callback();
        if (inner_slot_.is_connected()) inner_slot_.clear();
        if (posted_) {
            // An emitter exists. Acq_rel: its writes are seen, and it sees `done`.
            const std::uint32_t previous = word_.fetch_or(done, std::memory_order_acq_rel);
            if ((previous & emitting) != 0 && current_emit.emitter != this) {
                // Acquire pairs with the emitter's release of `emitting`.
                while ((word_.load(std::memory_order_acquire) & emitting) != 0) std::this_thread::yield();
            }
        }
        if (inline_completion) {
            finished_inline_ = true;  // launch() drops our reference once the initiation returns
        } else {
            release_finish_reference();
        }
    }

private:
    static constexpr std::uint32_t done = 1;
    static constexpr std::uint32_t emitting = 2;
    static constexpr unsigned reference_shift = 2;
    static constexpr std::uint32_t one_reference = std::uint32_t{1} << reference_shift;

    bind_state(Executor&& executor, asio::cancellation_slot inner_slot) noexcept
        : executor_(std::move(executor)), inner_slot_(inner_slot) {}
    ~bind_state() = default;

    /// The halt callback: runs on the cancelling thread, at most once.
    struct poster {
        bind_state* state;
        void operator()(const std::error_code& reason) const noexcept {
            bind_state* const self = state;
            self->posted_ = true;
            // Relaxed: finish() cannot free the state while this callback runs (it waits for it), and
            // sees this write through the core's `done`. This reference keeps the state for the emitter.
            self->word_.fetch_add(one_reference, std::memory_order_relaxed);
            // Acquire: pairs with launch(); an emitter posted before the initiation ended must let
            // what the initiation queued run first (see emitter).
            const bool early = !self->started_.load(std::memory_order_acquire);
            try {
                asio::post(self->executor_, emitter{self, reason, early});
            } catch (...) {
                // Out of memory while posting: the emitter's destructor gave the reference back. The
                // operation is then not cancelled, as if cancel() had come a moment after completion.
            }
        }
    };

    /// Runs on the executor; owns one reference until it runs or is destroyed unrun.
    ///
    /// Posted before the initiation ended (cancel() raced the initiation), it waits for `started_`,
    /// then goes once more to the back of the queue: what the initiation queued on the same executor
    /// runs first. That matters for co_spawn: Asio 1.26's co_spawn throws out of the io_context's run()
    /// if its coroutine is found cancelled at the step it queues to start itself.
    class emitter {
    public:
        emitter(bind_state* state, const std::error_code& reason, bool early) noexcept
            : state_(state), reason_(reason), early_(early) {}
        emitter(emitter&& other) noexcept
            : state_(std::exchange(other.state_, nullptr)), reason_(other.reason_), early_(other.early_) {}
        emitter& operator=(emitter&&) = delete;
        ~emitter() {
            if (state_ != nullptr) state_->release();
        }
        void operator()() {
            const bool started = state_->started_.load(std::memory_order_acquire);
            if (!started || early_) {
                early_ = !started;  // once started, one more trip behind what the initiation queued
                try {
                    asio::post(state_->executor_, std::move(*this));
                } catch (...) {
                    // Out of memory: give up this cancellation (the destructor releases), as above.
                }
                return;
            }
            std::exchange(state_, nullptr)->emit(reason_);
        }

    private:
        bind_state* state_;
        std::error_code reason_;
        bool early_;
    };

    /// The handler of the wrapped handler's own slot: forwards its cancellation to the operation. Runs
    /// where that slot's owner emits, which Asio already requires to be the handler's executor.
    struct forwarder {
        bind_state* state;
        void operator()(asio::cancellation_type_t type) const { state->signal_.emit(type); }
    };

    void emit(const std::error_code& reason) {
        std::uint32_t current = word_.load(std::memory_order_relaxed);
        do {
            if ((current & done) != 0) {  // completed first: the operation is gone
                release();
                return;
            }
            // Acquire: see the operation's slot handler installed by the initiation.
        } while (!word_.compare_exchange_weak(current, current | emitting, std::memory_order_acquire,
                                              std::memory_order_relaxed));
        struct end_emit {
            bind_state* state;
            ~end_emit() {
                // One step clears `emitting` and drops our reference. Release lets finish() proceed;
                // acquire (if ours was the last reference) sees every other owner's writes.
                const std::uint32_t previous =
                    state->word_.fetch_sub(emitting + one_reference, std::memory_order_acq_rel);
                if ((previous >> reference_shift) == 1) state->destroy();
            }
        } end{this};
        emit_scope scope(this, reason);
        signal_.emit(emitted_cancellation_type);
    }

    /// finish()'s own reference. Without a poster there is no other owner and nothing to synchronize:
    /// free without a read-modify-write.
    void release_finish_reference() noexcept {
        if (!posted_) {
            destroy();
        } else {
            release();
        }
    }

    void release() noexcept {
        // Acq_rel: the last owner must see every other owner's writes before it frees.
        if ((word_.fetch_sub(one_reference, std::memory_order_acq_rel) >> reference_shift) == 1) destroy();
    }

    void destroy() noexcept {
        this->~bind_state();
        asio::recycling_allocator<bind_state>().deallocate(this, 1);
    }

    /// Constructed by create(); destroyed by finish(), never by the state's destructor.
    union registration_storage {
        registration_storage() noexcept {}
        ~registration_storage() {}
        halt::callback<poster> callback;
    };

    asio::cancellation_signal signal_;
    Executor executor_;
    asio::cancellation_slot inner_slot_;
    registration_storage registration_;

    std::atomic<bool> started_{false};
    bool posted_ = false;           // written by the poster; read by finish() after the registration is gone
    bool finished_inline_ = false;  // written and read on the initiating thread only
    std::atomic<std::uint32_t> word_{one_reference};  // finish()'s reference, and each emitter's
};

}  // namespace halt::asio_detail
