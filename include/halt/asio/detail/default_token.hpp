#pragma once
// The completion token halt's operations use when the caller gives none: the executor's default
// (asio::use_awaitable_t::as_default_on, ...) if it has one, else asio::use_awaitable, so that
// `co_await halt::run(executor, fn, tok)` reads like .NET's `await Task.Run(fn, token)`.
//
// Not asio::deferred (newer Asio's default): Asio 1.26 cannot co_await a deferred operation whose
// signature is `void(std::exception_ptr, T)` (awaitable_async_op_handler dereferences the wrong member).

#include <type_traits>

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace halt::asio_detail {

template <class Executor>
using default_token_t = std::conditional_t<std::is_void_v<boost::asio::default_completion_token_t<Executor>>,
                                           boost::asio::use_awaitable_t<>, boost::asio::default_completion_token_t<Executor>>;

}  // namespace halt::asio_detail
