#pragma once
// halt on Boost.Asio: cancel any Asio operation, coroutine, timer or work item with a halt::token.
// Depends on the core (<halt/halt.hpp>) and on Boost.Asio's headers; link the CMake target halt::asio.

#include <halt/halt.hpp>

#include <halt/asio/async_wait.hpp>
#include <halt/asio/bind.hpp>
#include <halt/asio/co_spawn.hpp>
#include <halt/asio/delay.hpp>
#include <halt/asio/parallel_for_each.hpp>
#include <halt/asio/run.hpp>
#include <halt/asio/this_coro.hpp>
#include <halt/asio/timeout.hpp>
#include <halt/asio/when_all.hpp>
#include <halt/asio/when_any.hpp>
