// halt in Asio coroutines: this_coro::token, co_spawn, delay, timeouts, when_any and when_all. Every
// coroutine runs on a strand of an io_context run by several threads; cancel() comes from outside it.

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <variant>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <halt/asio.hpp>

#include "../bounded_wait.hpp"
#include "io_threads.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using halt_test::get;

/// An arm that only ends by being cancelled; it records that it started, and that it was cancelled.
asio::awaitable<int> until_cancelled(std::atomic<bool>* cancelled, std::atomic<bool>* started = nullptr) {
    if (started != nullptr) *started = true;
    try {
        co_await halt::delay(24h);
    } catch (...) {
        *cancelled = true;
        throw;
    }
    co_return 0;
}

asio::awaitable<void> until_cancelled_void(std::atomic<bool>* cancelled, std::atomic<bool>* started = nullptr) {
    co_await until_cancelled(cancelled, started);
}

asio::awaitable<int> value(int v) { co_return v; }
asio::awaitable<void> nothing() { co_return; }
asio::awaitable<std::string> text(std::string s) { co_return s; }
asio::awaitable<int> fails() {
    throw std::runtime_error("arm failed");
    co_return 0;
}

/// Passes the coroutine's own token out, then waits to be cancelled.
asio::awaitable<void> publish_token(std::promise<halt::token>* published) {
    published->set_value(co_await halt::this_coro::token);
    co_await halt::delay(24h);
}

class Coroutine : public ::testing::Test {
protected:
    halt_test::io_threads io;
    asio::strand<asio::io_context::executor_type> strand = asio::make_strand(io.context());
};

// --- this_coro::token -----------------------------------------------------------------------------

asio::awaitable<halt::token> token_of_nested_frame() { co_return co_await halt::this_coro::token; }

asio::awaitable<bool> same_token_in_nested_frames() {
    const halt::token outer = co_await halt::this_coro::token;
    const halt::token inner = co_await token_of_nested_frame();
    co_return outer == inner && outer.can_be_canceled();
}

TEST_F(Coroutine, ThisCoroTokenFollowsCoSpawnTokenWithItsReason) {
    halt::source source;
    std::promise<halt::token> published;
    std::future<void> done = halt::co_spawn(strand, publish_token(&published), source.token(), asio::use_future);
    const halt::token inside = get(published.get_future());
    ASSERT_TRUE(inside.can_be_canceled());
    EXPECT_FALSE(inside.is_cancellation_requested());
    source.cancel(halt::errc::shutting_down);
    try {
        get(done);
        FAIL() << "the coroutine was not cancelled";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.token(), source.token());
        EXPECT_EQ(error.code(), halt::errc::shutting_down);
    }
    EXPECT_EQ(inside.reason(), halt::errc::shutting_down);
}

TEST_F(Coroutine, ThisCoroTokenIsOnePerCoroutine) {
    halt::source source;
    EXPECT_TRUE(get(halt::co_spawn(strand, same_token_in_nested_frames(), source.token(), asio::use_future)));
}

TEST_F(Coroutine, ThisCoroTokenFollowsAsioCancellation) {
    asio::cancellation_signal signal;
    std::promise<halt::token> published;
    std::future<void> done = asio::co_spawn(strand, publish_token(&published),
                                            asio::bind_cancellation_slot(signal.slot(), asio::use_future));
    const halt::token inside = get(published.get_future());
    asio::post(strand, [&] { signal.emit(asio::cancellation_type::terminal); });
    EXPECT_THROW(get(done), boost::system::system_error);
    EXPECT_EQ(inside.reason(), halt::errc::canceled);
}

TEST_F(Coroutine, ThisCoroTokenOfAnUncancellableCoroutineIsNone) {
    std::promise<halt::token> published;
    asio::co_spawn(strand, [&]() -> asio::awaitable<void> { published.set_value(co_await halt::this_coro::token); },
                   asio::detached);
    EXPECT_FALSE(get(published.get_future()).can_be_canceled());
}

// --- co_spawn ---------------------------------------------------------------------------------------

/// Never looks at a token: yields to the executor up to a million times.
asio::awaitable<int> oblivious(std::promise<void>* running) {
    int rounds = 0;
    for (; rounds < 1'000'000; ++rounds) {
        if (rounds == 1) running->set_value();
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    co_return rounds;
}

TEST_F(Coroutine, CoroutineIgnoringItsTokenStopsAtItsNextCoAwait) {
    halt::source source;
    std::promise<void> running;
    std::future<int> done = halt::co_spawn(strand, oblivious(&running), source.token(), asio::use_future);
    get(running.get_future());
    source.cancel(halt::errc::client_disconnected);
    try {
        const int rounds = get(done);
        FAIL() << "ran all " << rounds << " rounds";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.code(), halt::errc::client_disconnected);
    }
}

TEST_F(Coroutine, CoSpawnOnCancelledTokenNeverStarts) {
    halt::source source;
    source.cancel(halt::errc::shutting_down);
    std::atomic<bool> started{false};
    auto body = [](std::atomic<bool>* flag) -> asio::awaitable<int> {
        *flag = true;
        co_return 1;
    };
    std::future<int> done = halt::co_spawn(strand, body(&started), source.token(), asio::use_future);
    EXPECT_THROW(get(done), halt::canceled_error);
    EXPECT_FALSE(started);
}

TEST_F(Coroutine, CoSpawnReturnsTheValueWhenNotCancelled) {
    halt::source source;
    EXPECT_EQ(get(halt::co_spawn(strand, value(7), source.token(), asio::use_future)), 7);
}

// --- delay -------------------------------------------------------------------------------------------

TEST_F(Coroutine, DelayThrowsCanceledErrorWithTheReason) {
    halt::source source;
    source.cancel_after(5ms);  // the token's own deadline
    const halt::token tok = source.token();
    std::future<void> done = asio::co_spawn(strand, halt::delay(24h, tok), asio::use_future);
    try {
        get(done);
        FAIL() << "delay was not cancelled";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.token(), tok);
        EXPECT_EQ(error.code(), halt::errc::deadline_exceeded);
    }
    EXPECT_NO_THROW(get(asio::co_spawn(strand, halt::delay(1ms), asio::use_future)));
}

// --- with_timeout / try_with_timeout -----------------------------------------------------------------

// The deadline may pass before the operation even starts on a loaded machine (it is then never
// started); whenever it did start, it must have stopped before the timeout returned.
TEST_F(Coroutine, WithTimeoutCancelsTheOperationAndThrowsDeadlineExceeded) {
    std::atomic<bool> started{false};
    std::atomic<bool> cancelled{false};
    std::future<int> done =
        asio::co_spawn(strand, halt::with_timeout(until_cancelled(&cancelled, &started), 10ms), asio::use_future);
    try {
        get(done);
        FAIL() << "no timeout";
    } catch (const halt::canceled_error& error) {
        EXPECT_EQ(error.code(), halt::errc::deadline_exceeded);
    }
    EXPECT_EQ(cancelled, started);
}

TEST_F(Coroutine, TryWithTimeoutReturnsEmpty) {
    std::atomic<bool> started{false};
    std::atomic<bool> cancelled{false};
    EXPECT_EQ(get(asio::co_spawn(strand, halt::try_with_timeout(until_cancelled(&cancelled, &started), 10ms),
                                 asio::use_future)),
              std::nullopt);
    EXPECT_EQ(cancelled, started);
    started = false;
    cancelled = false;
    EXPECT_FALSE(get(asio::co_spawn(strand, halt::try_with_timeout(until_cancelled_void(&cancelled, &started), 10ms),
                                    asio::use_future)));
    EXPECT_EQ(cancelled, started);
}

TEST_F(Coroutine, TimeoutsPassTheResultThroughWhenInTime) {
    EXPECT_EQ(get(asio::co_spawn(strand, halt::with_timeout(value(3), 1h), asio::use_future)), 3);
    EXPECT_EQ(get(asio::co_spawn(strand, halt::try_with_deadline(value(4), std::chrono::system_clock::now() + 1h),
                                 asio::use_future)),
              std::optional<int>(4));
    EXPECT_TRUE(get(asio::co_spawn(strand, halt::try_with_timeout(nothing(), 1h), asio::use_future)));
    EXPECT_THROW(get(asio::co_spawn(strand, halt::with_deadline(fails(), std::chrono::steady_clock::now() + 1h),
                                    asio::use_future)),
                 std::runtime_error);
}

TEST_F(Coroutine, OuterCancellationIsNotReportedAsTimeout) {
    halt::source source;
    std::atomic<bool> cancelled{false};
    std::promise<void> running;
    auto outer = [](std::atomic<bool>* flag, std::promise<void>* ready) -> asio::awaitable<std::optional<int>> {
        asio::post(co_await asio::this_coro::executor, [ready] { ready->set_value(); });
        co_return co_await halt::try_with_timeout(until_cancelled(flag), 1h);
    };
    std::future<std::optional<int>> done =
        halt::co_spawn(strand, outer(&cancelled, &running), source.token(), asio::use_future);
    get(running.get_future());
    source.cancel();
    EXPECT_THROW(get(done), halt::canceled_error);  // not an empty optional
    EXPECT_TRUE(cancelled);
}

// --- when_any / when_all -----------------------------------------------------------------------------

TEST_F(Coroutine, WhenAnyReturnsTheWinnerAndCancelsTheLosers) {
    std::atomic<bool> first{false};
    std::atomic<bool> third{false};
    auto result = get(asio::co_spawn(
        strand, halt::when_any(until_cancelled(&first), value(42), until_cancelled_void(&third)), asio::use_future));
    ASSERT_EQ(result.index(), 1u);
    EXPECT_EQ(std::get<1>(result), 42);
    EXPECT_TRUE(first);  // when_any returned only after the losers had stopped
    EXPECT_TRUE(third);
}

TEST_F(Coroutine, WhenAnyThrowingArmEndsTheRace) {
    std::atomic<bool> loser{false};
    EXPECT_THROW(get(asio::co_spawn(strand, halt::when_any(until_cancelled(&loser), fails()), asio::use_future)),
                 std::runtime_error);
    EXPECT_TRUE(loser);
}

/// Publishes its coroutine's token, tells the winner it may finish, then waits to be cancelled.
asio::awaitable<int> publishing_loser(std::promise<halt::token>* published, halt::source* ready) {
    published->set_value(co_await halt::this_coro::token);
    ready->cancel();
    co_await halt::delay(24h);
    co_return 0;
}

/// Finishes once the loser is running.
asio::awaitable<int> winner_after(halt::token ready) {
    co_await halt::async_wait(ready, asio::use_awaitable);
    co_return 1;
}

TEST_F(Coroutine, WhenAnyLosersSeeTheirTokenCancelled) {
    std::promise<halt::token> published;
    halt::source ready;
    auto result = get(asio::co_spawn(strand, halt::when_any(publishing_loser(&published, &ready), winner_after(ready.token())),
                                     asio::use_future));
    EXPECT_EQ(result.index(), 1u);
    const halt::token loser = get(published.get_future());
    EXPECT_TRUE(loser.is_cancellation_requested());
    EXPECT_EQ(loser.reason(), halt::errc::canceled);
}

TEST_F(Coroutine, CancellingTheAwaiterCancelsEveryArm) {
    halt::source source;
    std::atomic<bool> first{false};
    std::atomic<bool> second{false};
    std::promise<void> running;
    auto awaiter = [](std::atomic<bool>* a, std::atomic<bool>* b, std::promise<void>* ready) -> asio::awaitable<void> {
        asio::post(co_await asio::this_coro::executor, [ready] { ready->set_value(); });
        co_await halt::when_all(until_cancelled(a), until_cancelled(b));
    };
    std::future<void> done = halt::co_spawn(strand, awaiter(&first, &second, &running), source.token(), asio::use_future);
    get(running.get_future());
    source.cancel();
    EXPECT_THROW(get(done), halt::canceled_error);
    EXPECT_TRUE(first);
    EXPECT_TRUE(second);
}

TEST_F(Coroutine, WhenAllReturnsEveryValue) {
    auto [number, none, word] =
        get(asio::co_spawn(strand, halt::when_all(value(1), nothing(), text("two")), asio::use_future));
    EXPECT_EQ(number, 1);
    EXPECT_EQ(none, std::monostate());
    EXPECT_EQ(word, "two");
}

TEST_F(Coroutine, WhenAllFirstFailureCancelsTheRestAndIsRethrown) {
    std::atomic<bool> other{false};
    EXPECT_THROW(get(asio::co_spawn(strand, halt::when_all(until_cancelled(&other), fails(), value(3)), asio::use_future)),
                 std::runtime_error);
    EXPECT_TRUE(other);
}

// --- when_any / when_all over a vector ------------------------------------------------------------

TEST_F(Coroutine, WhenAnyOverAVectorReturnsTheWinnersPositionAndCancelsTheRest) {
    constexpr std::size_t losers = 16;
    std::vector<std::atomic<bool>> cancelled(losers);
    std::vector<asio::awaitable<int>> arms;
    for (auto& flag : cancelled) arms.push_back(until_cancelled(&flag));
    arms.insert(arms.begin() + 5, value(7));  // the only arm that can finish
    const auto [index, result] = get(asio::co_spawn(strand, halt::when_any(std::move(arms)), asio::use_future));
    EXPECT_EQ(index, 5u);
    EXPECT_EQ(result, 7);
    for (const auto& flag : cancelled) EXPECT_TRUE(flag) << "returned only after every loser had stopped";
}

TEST_F(Coroutine, WhenAnyOverAVectorThrowingArmEndsTheRace) {
    std::atomic<bool> loser{false};
    std::vector<asio::awaitable<int>> arms;
    arms.push_back(until_cancelled(&loser));
    arms.push_back(fails());
    EXPECT_THROW(get(asio::co_spawn(strand, halt::when_any(std::move(arms)), asio::use_future)), std::runtime_error);
    EXPECT_TRUE(loser);
}

TEST_F(Coroutine, WhenAnyOverAnEmptyVectorIsAnError) {
    EXPECT_THROW(get(asio::co_spawn(strand, halt::when_any(std::vector<asio::awaitable<int>>{}), asio::use_future)),
                 std::invalid_argument);
}

TEST_F(Coroutine, WhenAllOverAVectorReturnsEveryValueInOrder) {
    std::vector<asio::awaitable<std::string>> arms;
    for (int i = 0; i < 32; ++i) arms.push_back(text(std::to_string(i)));
    const auto words = get(asio::co_spawn(strand, halt::when_all(std::move(arms)), asio::use_future));
    ASSERT_EQ(words.size(), 32u);
    for (int i = 0; i < 32; ++i) EXPECT_EQ(words[static_cast<std::size_t>(i)], std::to_string(i));

    std::vector<asio::awaitable<void>> none;
    none.push_back(nothing());
    none.push_back(nothing());
    EXPECT_EQ(get(asio::co_spawn(strand, halt::when_all(std::move(none)), asio::use_future)).size(), 2u);
    EXPECT_TRUE(get(asio::co_spawn(strand, halt::when_all(std::vector<asio::awaitable<int>>{}), asio::use_future)).empty());
}

TEST_F(Coroutine, WhenAllOverAVectorFirstFailureCancelsTheRestAndIsRethrown) {
    std::vector<std::atomic<bool>> cancelled(8);
    std::vector<asio::awaitable<int>> arms;
    for (auto& flag : cancelled) arms.push_back(until_cancelled(&flag));
    arms.push_back(fails());
    arms.push_back(value(3));
    EXPECT_THROW(get(asio::co_spawn(strand, halt::when_all(std::move(arms)), asio::use_future)), std::runtime_error);
    for (const auto& flag : cancelled) EXPECT_TRUE(flag);
}

TEST_F(Coroutine, WhenAllOverAVectorIsCancelledWithTheAwaiter) {
    halt::source source;
    std::vector<std::atomic<bool>> cancelled(8);
    std::vector<std::atomic<bool>> started(8);
    auto awaiter = [&]() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> arms;
        for (std::size_t i = 0; i < cancelled.size(); ++i) arms.push_back(until_cancelled(&cancelled[i], &started[i]));
        co_await halt::when_all(std::move(arms));
    };
    std::future<void> done = halt::co_spawn(strand, awaiter(), source.token(), asio::use_future);
    ASSERT_TRUE(wait_until_true([&] {
        for (const auto& flag : started) if (!flag) return false;
        return true;
    }, halt_test::hang_limit));
    source.cancel();
    EXPECT_THROW(get(done), halt::canceled_error);
    for (const auto& flag : cancelled) EXPECT_TRUE(flag);
}

}  // namespace
