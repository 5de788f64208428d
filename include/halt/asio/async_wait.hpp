#pragma once
// halt::async_wait: an Asio operation that completes when a halt token is cancelled.

#include <atomic>
#include <cstdint>
#include <system_error>
#include <type_traits>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/system/error_code.hpp>

#include <halt/callback.hpp>
#include <halt/token.hpp>

namespace halt {
namespace asio_detail {

namespace asio = boost::asio;

/// One pending async_wait. Claimed exactly once, by the halt callback (token cancelled, any thread) or
/// by the slot handler (operation cancelled, handler's executor); the claimer posts the completion.
///
/// Race: the token may be cancelled while the initiation is still registering, and the posted
/// completion may then run on another thread before the registration's constructor returned. The
/// completion destroys the registration only once the initiation has published `registered`;
/// otherwise the initiation does it. Each keeps its reference until its last access; the last to let
/// go frees the state.
///
/// Race: destroying a registration waits for its callback when that runs on another thread, and the
/// completion must not wait for a cancelling thread that may have been preempted. So a callback that
/// wins the claim destroys its own registration (from inside itself: the core does not wait then)
/// and publishes `gone` before it posts the completion; the completion only destroys a registration
/// whose callback lost the claim or never ran, which it can do without a long wait.
template <class Handler>
class token_wait {
public:
    using executor_type = std::decay_t<decltype(asio::prefer(asio::get_associated_executor(std::declval<Handler&>()),
                                                              asio::execution::outstanding_work.tracked))>;

    static void start(Handler handler, const halt::token& tok) {
        asio::recycling_allocator<token_wait> allocator;
        token_wait* self = allocator.allocate(1);
        ::new (static_cast<void*>(self)) token_wait(std::move(handler));
        // The slot first: once the callback is registered, a completion may run and clear it.
        if (self->slot_.is_connected()) self->slot_.template emplace<slot_handler>(self);
        const void* const outer = std::exchange(registering, self);
        ::new (static_cast<void*>(&self->registration_.callback)) halt::callback<on_cancel>(tok, on_cancel{self});
        registering = outer;
        // Sets `registered` and, unless the completion already ran, drops the initiation's reference in
        // the same step. Acq_rel: publishes the registration, or sees the completion's writes.
        std::uint32_t current = self->word_.load(std::memory_order_relaxed);
        std::uint32_t next = 0;
        do {
            next = (current & done) != 0 ? (current | registered) : (current | registered) - one_reference;
        } while (!self->word_.compare_exchange_weak(current, next, std::memory_order_acq_rel, std::memory_order_relaxed));
        if ((current & done) != 0) {  // the completion left the registration to us
            if ((current & gone) == 0) self->registration_.callback.~callback();
            self->release();
        }
    }

private:
    static constexpr std::uint32_t registered = 1;
    static constexpr std::uint32_t done = 2;
    static constexpr std::uint32_t claimed = 4;
    static constexpr std::uint32_t gone = 8;
    static constexpr unsigned reference_shift = 4;
    static constexpr std::uint32_t one_reference = std::uint32_t{1} << reference_shift;

    /// The callback whose registration is being constructed on this thread.
    static inline thread_local const void* registering = nullptr;

    explicit token_wait(Handler&& handler)
        : handler_(std::move(handler)),
          executor_(asio::prefer(asio::get_associated_executor(handler_), asio::execution::outstanding_work.tracked)),
          slot_(asio::get_associated_cancellation_slot(handler_)) {}

    struct on_cancel {
        token_wait* self;
        void operator()(const std::error_code& reason) const noexcept {
            token_wait* const wait = self;  // `this` lives in the registration, destroyed below
            // Acq_rel: one claimer wins; it writes the result, which the completion reads after the post.
            if ((wait->word_.fetch_or(claimed, std::memory_order_acq_rel) & claimed) != 0) return;
            wait->reason_ = reason;
            if (registering != wait) {
                wait->registration_.callback.~callback();  // from inside its own callback: never waits
                wait->word_.fetch_or(gone, std::memory_order_release);
            }
            wait->post_completion();
        }
    };

    struct slot_handler {
        token_wait* self;
        void operator()(asio::cancellation_type_t type) const noexcept {
            if (type == asio::cancellation_type::none) return;
            if ((self->word_.fetch_or(claimed, std::memory_order_acq_rel) & claimed) != 0) return;
            self->error_ = asio::error::operation_aborted;
            self->post_completion();
        }
    };

    /// The posted completion; owns the completion's reference.
    class completion {
    public:
        explicit completion(token_wait* self) noexcept : self_(self) {}
        completion(completion&& other) noexcept : self_(std::exchange(other.self_, nullptr)) {}
        completion& operator=(completion&&) = delete;
        ~completion() {
            if (self_ != nullptr) std::exchange(self_, nullptr)->finish(false);
        }
        void operator()() { std::exchange(self_, nullptr)->finish(true); }

    private:
        token_wait* self_;
    };

    void post_completion() noexcept {
        try {
            asio::post(executor_, completion{this});
        } catch (...) {
            // Out of memory: the completion's destructor already cleaned up without calling the handler.
        }
    }

    void finish(bool invoke) {
        // Acq_rel: sees the claimer's writes (also carried by the post) and publishes `done`.
        const std::uint32_t previous = word_.fetch_or(done, std::memory_order_acq_rel);
        if (slot_.is_connected()) slot_.clear();
        Handler handler(std::move(handler_));
        const boost::system::error_code error = error_;
        const std::error_code reason = reason_;
        // A registration still there (its callback lost the claim or never ran) is ours to destroy,
        // unless the initiation is still registering: then it does.
        if ((previous & registered) != 0 && (previous & gone) == 0) registration_.callback.~callback();
        release();
        if (invoke) std::move(handler)(error, reason);
    }

    void release() noexcept {
        if ((word_.fetch_sub(one_reference, std::memory_order_acq_rel) >> reference_shift) == 1) {
            this->~token_wait();
            asio::recycling_allocator<token_wait>().deallocate(this, 1);
        }
    }

    union registration_storage {
        registration_storage() noexcept {}
        ~registration_storage() {}
        halt::callback<on_cancel> callback;
    };

    Handler handler_;
    executor_type executor_;
    asio::cancellation_slot slot_;
    registration_storage registration_;
    boost::system::error_code error_;
    std::error_code reason_;
    std::atomic<std::uint32_t> word_{2 * one_reference};  // the initiation's and the completion's
};

struct initiate_token_wait {
    template <class Handler>
    void operator()(Handler&& handler, halt::token tok) const {
        using handler_type = std::decay_t<Handler>;
        if (!tok.can_be_canceled() || tok.is_cancellation_requested()) {
            // Nothing to wait for: complete through the executor, never inside this call.
            auto executor = asio::get_associated_executor(handler);
            asio::post(executor, asio::append(std::forward<Handler>(handler), boost::system::error_code(), tok.reason()));
            return;
        }
        token_wait<handler_type>::start(handler_type(std::forward<Handler>(handler)), tok);
    }
};

}  // namespace asio_detail

/// Waits, asynchronously, until `tok` is cancelled. Completion signature
/// `void(boost::system::error_code error, std::error_code reason)`:
///
///     std::error_code why = co_await halt::async_wait(tok, asio::use_awaitable);
///     halt::async_wait(tok, [](boost::system::error_code error, std::error_code reason) { ... });
///
/// - `tok` cancelled (now or later, from any thread): `error` is empty and `reason` is the token's
///   reason. The handler runs on its associated executor (for a callback without one, Asio's system
///   executor), never inside the cancelling call.
/// - A token that can never be cancelled (token::none(), or every source gone): completes at once with
///   an empty `reason`, as token::wait() returns false at once.
/// - The wait itself supports Asio's per-operation cancellation (all types): cancelling it completes it
///   with operation_aborted, e.g. when the coroutine awaiting it is cancelled or it loses a when_any.
/// - It holds outstanding work on the handler's executor until it completes: a wait that nothing ever
///   cancels keeps io_context::run() from returning.
template <class CompletionToken>
auto async_wait(halt::token tok, CompletionToken&& completion_token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, std::error_code)>(
        asio_detail::initiate_token_wait{}, completion_token, std::move(tok));
}

}  // namespace halt
