// halt::run and halt::parallel_for_each: work items on thread pools and io_contexts with several threads.

#include <algorithm>
#include <atomic>
#include <future>
#include <numeric>
#include <stdexcept>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <halt/asio.hpp>

#include "io_threads.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using halt_test::get;

class Work : public ::testing::Test {
protected:
    ~Work() override { pool.join(); }
    asio::thread_pool pool{4};
};

// --- run ----------------------------------------------------------------------------------------------

TEST_F(Work, RunNeverCallsFnOnCancelledToken) {
    halt::source source;
    source.cancel(halt::errc::shutting_down);
    std::atomic<bool> called{false};
    std::future<int> done = halt::run(pool.get_executor(), [&] { called = true; return 1; }, source.token(), asio::use_future);
    try {
        get(done);
        FAIL() << "completed normally";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.code(), halt::errc::shutting_down);
    }
    EXPECT_FALSE(called);
}

TEST_F(Work, RunNeverCallsFnCancelledWhileQueued) {
    asio::thread_pool single(1);
    std::promise<void> release;
    std::promise<void> blocking;
    std::future<void> first = halt::run(single.get_executor(), [&] {
        blocking.set_value();
        release.get_future().wait();  // holds the only thread until the test lets go
    }, halt::token{}, asio::use_future);
    get(blocking.get_future());
    halt::source source;
    std::atomic<bool> called{false};
    std::future<void> second = halt::run(single.get_executor(), [&] { called = true; }, source.token(), asio::use_future);
    source.cancel();
    release.set_value();
    get(first);
    EXPECT_THROW(get(second), halt::canceled_error);
    EXPECT_FALSE(called);
    single.join();
}

TEST_F(Work, RunPassesTheTokenAndReturnsTheValue) {
    halt::source source;
    EXPECT_EQ(get(halt::run(pool.get_executor(), [](halt::token t) { return t.can_be_canceled() ? 5 : 0; },
                            source.token(), asio::use_future)),
              5);
    EXPECT_NO_THROW(get(halt::run(pool.get_executor(), [] {}, source.token(), asio::use_future)));
}

TEST_F(Work, RunCanceledErrorOfItsOwnTokenCompletesAsCancelled) {
    halt::source source;
    halt::source other;
    other.cancel();
    // Its own token: cancelled, with the token's reason.
    std::future<int> own = halt::run(pool.get_executor(), [&](halt::token t) {
        source.cancel(halt::errc::client_disconnected);
        t.throw_if_cancellation_requested();
        return 1;
    }, source.token(), asio::use_future);
    try {
        get(own);
        FAIL() << "completed normally";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.token(), source.token());
        EXPECT_EQ(error.code(), halt::errc::client_disconnected);
    }
    // Someone else's token, or any other exception: failed, with that exception unchanged.
    halt::source mine;
    std::future<int> foreign = halt::run(pool.get_executor(), [&] { other.token().throw_if_cancellation_requested(); return 1; },
                                         mine.token(), asio::use_future);
    try {
        get(foreign);
        FAIL() << "completed normally";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.token(), other.token());
    }
    EXPECT_THROW(get(halt::run(pool.get_executor(), []() -> int { throw std::runtime_error("failed"); }, mine.token(),
                               asio::use_future)),
                 std::runtime_error);
}

TEST_F(Work, RunIsAwaitable) {
    halt_test::io_threads io;
    halt::source source;
    auto body = [](asio::thread_pool::executor_type pool_executor, halt::token tok) -> asio::awaitable<int> {
        const int a = co_await halt::run(pool_executor, [] { return 20; }, tok);  // default token: use_awaitable
        const int b = co_await halt::run(pool_executor, [](halt::token) { return 22; }, tok, asio::use_awaitable);
        co_return a + b;
    };
    EXPECT_EQ(get(asio::co_spawn(asio::make_strand(io.context()), body(pool.get_executor(), source.token()), asio::use_future)),
              42);
}

// --- parallel_for_each --------------------------------------------------------------------------------

TEST_F(Work, ParallelForEachVisitsEveryElementWithBoundedParallelism) {
    std::vector<int> numbers(200);
    std::iota(numbers.begin(), numbers.end(), 1);
    std::atomic<long> sum{0};
    std::atomic<int> active{0};
    std::atomic<int> most{0};
    halt::source source;
    get(halt::parallel_for_each(pool.get_executor(), numbers, [&](int n) {
        const int now = ++active;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        sum += n;
        --active;
    }, source.token(), halt::max_parallelism{3}, asio::use_future));
    EXPECT_EQ(sum, 200 * 201 / 2);
    EXPECT_LE(most, 3);
    EXPECT_GE(most, 1);
}

TEST_F(Work, ParallelForEachFirstFailureCancelsTheRest) {
    std::vector<int> numbers(10'000);
    std::iota(numbers.begin(), numbers.end(), 0);
    std::atomic<int> ran{0};
    halt::source source;
    std::future<void> done = halt::parallel_for_each(pool.get_executor(), numbers, [&](int n, halt::token t) {
        ++ran;
        if (n == 3) throw std::runtime_error("element 3");
        t.throw_if_cancellation_requested();
    }, source.token(), halt::max_parallelism{4}, asio::use_future);
    EXPECT_THROW(get(done), std::runtime_error);
    EXPECT_LT(ran, 10'000);
    EXPECT_FALSE(source.is_cancellation_requested());  // the caller's token is not touched
}

TEST_F(Work, ParallelForEachStopsOnTheCallersToken) {
    halt::source source;
    std::atomic<int> ran{0};
    std::future<void> done = halt::parallel_for_each(pool.get_executor(), std::vector<int>(10'000), [&](int) {
        if (++ran == 10) source.cancel(halt::errc::shutting_down);
    }, source.token(), halt::max_parallelism{2}, asio::use_future);
    try {
        get(done);
        FAIL() << "completed normally";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.token(), source.token());
        EXPECT_EQ(error.code(), halt::errc::shutting_down);
    }
    EXPECT_LT(ran, 10'000);

    std::atomic<bool> called{false};
    EXPECT_THROW(get(halt::parallel_for_each(pool.get_executor(), std::vector<int>(3), [&](int) { called = true; },
                                             source.token(), asio::use_future)),
                 halt::canceled_error);
    EXPECT_FALSE(called);
}

TEST_F(Work, ParallelForEachCoroutineBodiesAreCancelledByTheFirstFailure) {
    halt_test::io_threads io;
    auto strand = asio::make_strand(io.context());
    std::vector<int> elements{0, 0, 1, 0, 0, 0};  // 1 fails, 0 waits until cancelled
    std::atomic<int> waiting{0};
    std::atomic<int> cancelled{0};
    halt::source source;
    std::future<void> done = halt::parallel_for_each(strand, elements, [&](int fail, halt::token t) -> asio::awaitable<void> {
        if (fail != 0) throw std::runtime_error("body failed");
        ++waiting;
        try {
            co_await halt::delay(24h, t);
        } catch (const halt::canceled_error&) {
            ++cancelled;
            throw;
        }
    }, source.token(), halt::max_parallelism{4}, asio::use_future);
    EXPECT_THROW(get(done), std::runtime_error);
    EXPECT_GE(waiting, 2);  // the two before the failing one, at least
    EXPECT_EQ(cancelled, waiting);  // every body that had started was stopped before the loop completed
}

}  // namespace
