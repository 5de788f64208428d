#pragma once
// What the thread is doing while halt's cancellation travels through Asio: which bind state is emitting
// and for which halt reason. Asio's cancellation signals carry a cancellation_type but no reason, so a
// bridge reached synchronously by the same emit (the coroutine bridge of this_coro::token) reads the
// reason here instead of reporting a bare errc::canceled.

#include <system_error>

#include <halt/errc.hpp>

namespace halt::asio_detail {

struct emit_context {
    /// The bind state whose emit is running on this thread; null outside any emit.
    const void* emitter = nullptr;
    /// The halt reason of that emit.
    const std::error_code* reason = nullptr;
};

// Trivially constructible and destructible: constant-initialized, no TLS wrapper call on access.
inline thread_local emit_context current_emit{};

/// Marks the running thread as emitting `reason` on behalf of `emitter` for the scope's lifetime.
class emit_scope {
public:
    emit_scope(const void* emitter, const std::error_code& reason) noexcept : saved_(current_emit) {
        current_emit = {emitter, &reason};
    }
    emit_scope(const emit_scope&) = delete;
    emit_scope& operator=(const emit_scope&) = delete;
    ~emit_scope() { current_emit = saved_; }

private:
    emit_context saved_;
};

/// The halt reason behind the Asio cancellation being delivered on this thread, or errc::canceled when
/// the cancellation did not come from halt (a parallel group, a user's cancellation_signal, ...).
inline std::error_code current_emit_reason() noexcept {
    return current_emit.reason != nullptr ? *current_emit.reason : make_error_code(errc::canceled);
}

}  // namespace halt::asio_detail
