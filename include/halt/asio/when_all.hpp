#pragma once
// halt::when_all: several coroutines, all of whose values are needed; the first failure cancels the rest.

#include <tuple>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <halt/asio/detail/arm_group.hpp>
#include <halt/asio/detail/range_group.hpp>

namespace halt {

/// Runs every `arms` concurrently and completes with all their values, in order:
///
///     auto [user, orders] = co_await halt::when_all(load_user(id), load_orders(id));
///
/// - Returns a std::tuple with one element per arm (std::monostate for an awaitable<void>).
/// - The first arm to throw cancels the others (they stop at their next co_await), and when_all, once
///   every arm has finished, rethrows that first exception; the others' outcomes are discarded.
/// - Cancelling the awaiting coroutine cancels every arm.
/// - Each arm runs on a strand of the awaiting coroutine's executor: in parallel on a multi-threaded
///   io_context, or all within the caller's strand if it runs on one.
template <class Executor, class... T>
boost::asio::awaitable<std::tuple<asio_detail::arm_value_t<T>...>, Executor> when_all(
    boost::asio::awaitable<T, Executor>... arms) {
    return asio_detail::join<asio_detail::join_mode::all_values>(std::move(arms)...);
}

/// As when_all(arms...), for a number of operations known at run time: returns their values in the
/// order of `arms` (std::monostate for awaitable<void>); no values for no arms.
///
///     std::vector<asio::awaitable<std::string>> fetches;
///     for (const auto& url : urls) fetches.push_back(fetch(url));
///     std::vector<std::string> bodies = co_await halt::when_all(std::move(fetches));
template <class Executor, class T>
boost::asio::awaitable<std::vector<asio_detail::arm_value_t<T>>, Executor> when_all(
    std::vector<boost::asio::awaitable<T, Executor>> arms) {
    return asio_detail::join_range<asio_detail::join_mode::all_values>(std::move(arms));
}

}  // namespace halt
