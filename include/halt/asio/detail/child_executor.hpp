#pragma once
// Where halt runs the child coroutines it spawns (when_any/when_all arms, parallel_for_each workers,
// with_timeout's operation).

#include <type_traits>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

namespace halt::asio_detail {

/// A strand over `executor`, so that each child coroutine is serialized with the cancellation halt
/// emits into it even when `executor` runs on several threads (Asio's cancellation state is not
/// thread-safe). On an executor that is already a strand the child runs within that strand. Executor
/// types that cannot hold a strand (io_context::executor_type, ...) are returned as they are: give
/// those a single thread or a strand yourself.
///
/// For an any_io_executor over an io_context or a thread_pool, the strand is built over the concrete
/// executor: it then fits inside the any_io_executor, where a strand over the any_io_executor itself
/// would be a separately allocated, shared target.
template <class Executor>
Executor child_executor(const Executor& executor) {
    namespace asio = boost::asio;
    if constexpr (std::is_same_v<Executor, asio::any_io_executor>) {
        using io_executor = asio::io_context::executor_type;
        using pool_executor = asio::thread_pool::executor_type;
        if (executor.template target<asio::strand<io_executor>>() != nullptr ||
            executor.template target<asio::strand<pool_executor>>() != nullptr) {
            return executor;
        }
        if (const auto* io = executor.template target<io_executor>()) return Executor(asio::make_strand(*io));
        if (const auto* pool = executor.template target<pool_executor>()) return Executor(asio::make_strand(*pool));
    }
    if constexpr (std::is_constructible_v<Executor, decltype(boost::asio::make_strand(executor))>) {
        return Executor(boost::asio::make_strand(executor));
    } else {
        return executor;
    }
}

}  // namespace halt::asio_detail
