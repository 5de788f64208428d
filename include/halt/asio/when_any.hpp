#pragma once
// halt::when_any: the first of several coroutines to finish wins; the others are cancelled.

#include <cstddef>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <halt/asio/detail/arm_group.hpp>
#include <halt/asio/detail/range_group.hpp>

namespace halt {

/// Runs every `arms` concurrently and completes with the first to finish:
///
///     auto result = co_await halt::when_any(fetch(primary), fetch(mirror), halt::delay(2s));
///     switch (result.index()) { case 0: ... std::get<0>(result) ... }
///
/// - Returns a std::variant whose index() is the winner's position and whose alternative holds its
///   value (std::monostate for an awaitable<void>); alternatives may repeat a type.
/// - The first arm to finish decides, also when it throws: its exception is rethrown (unlike Asio's
///   `||`, where an arm that throws does not end the race).
/// - The losers are cancelled (their coroutines stop at their next co_await; `co_await
///   halt::this_coro::token` inside them is cancelled with errc::canceled), and when_any returns only
///   once every arm has finished; their results and exceptions are discarded.
/// - Cancelling the awaiting coroutine cancels every arm.
/// - Each arm runs on a strand of the awaiting coroutine's executor: in parallel on a multi-threaded
///   io_context, or all within the caller's strand if it runs on one.
template <class Executor, class... T>
boost::asio::awaitable<std::variant<asio_detail::arm_value_t<T>...>, Executor> when_any(
    boost::asio::awaitable<T, Executor>... arms) {
    return asio_detail::join<asio_detail::join_mode::first_completion>(std::move(arms)...);
}

/// As when_any(arms...), for a number of operations known at run time:
///
///     std::vector<asio::awaitable<std::string>> fetches;
///     for (const auto& mirror : mirrors) fetches.push_back(fetch(mirror));
///     auto [index, body] = co_await halt::when_any(std::move(fetches));
///
/// Returns the winner's position in `arms` and its value (std::monostate for awaitable<void>). Throws
/// std::invalid_argument when `arms` is empty.
template <class Executor, class T>
boost::asio::awaitable<std::pair<std::size_t, asio_detail::arm_value_t<T>>, Executor> when_any(
    std::vector<boost::asio::awaitable<T, Executor>> arms) {
    return asio_detail::join_range<asio_detail::join_mode::first_completion>(std::move(arms));
}

}  // namespace halt
