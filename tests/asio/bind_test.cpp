// halt::bind and halt::async_wait on real Asio operations: a TCP read, timers, a channel; every test on
// an io_context run by several threads, with cancel() issued from a thread outside it.

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <halt/asio.hpp>

#include "io_threads.hpp"

namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;
using halt_test::get;

/// What a completion saw: the error, and the token's reason read inside the handler.
struct outcome {
    error_code error;
    std::error_code reason;
};

TEST(Bind, TcpReadBlockedForeverIsCancelledFromAnotherThread) {
    halt_test::io_threads io;
    asio::ip::tcp::acceptor acceptor(io.context(), {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket client(io.context());
    asio::ip::tcp::socket server(io.context());
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);  // the server never writes: the read can only end by cancellation

    halt::source source;
    const halt::token tok = source.token();
    char buffer[16];
    std::promise<void> started;
    std::promise<outcome> finished;
    asio::post(io.context(), [&] {
        client.async_read_some(asio::buffer(buffer), halt::bind(tok, [&](error_code error, std::size_t) {
                                   finished.set_value({error, tok.reason()});
                               }));
        started.set_value();
    });
    get(started.get_future());
    source.cancel(halt::errc::shutting_down);  // this thread is not one of the io_context's

    const outcome result = get(finished.get_future());
    EXPECT_EQ(result.error, asio::error::operation_aborted);
    EXPECT_EQ(result.reason, halt::errc::shutting_down);
}

TEST(Bind, TokenDeadlineCancelsTimer) {
    halt_test::io_threads io;
    asio::steady_timer timer(io.context(), 1h);
    halt::source source;
    source.cancel_after(5ms);
    const halt::token tok = source.token();
    std::future<void> waited = timer.async_wait(halt::bind(tok, asio::use_future));
    try {
        get(waited);
        FAIL() << "the timer was not cancelled";
    } catch (const boost::system::system_error& error) {
        EXPECT_EQ(error.code(), asio::error::operation_aborted);
    }
    EXPECT_EQ(tok.reason(), halt::errc::deadline_exceeded);
}

TEST(Bind, AlreadyCancelledTokenNeverStartsTheOperationAndNeverCompletesInline) {
    halt_test::io_threads io;
    asio::steady_timer timer(io.context(), 1h);
    halt::source source;
    source.cancel(halt::errc::client_disconnected);
    auto strand = asio::make_strand(io.context());
    std::promise<outcome> finished;
    std::atomic<bool> initiation_returned{false};
    asio::post(strand, [&] {
        // The handler is bound to the strand we are running on: it can only run after this returns.
        timer.async_wait(halt::bind(source.token(), asio::bind_executor(strand, [&](error_code error) {
                                        EXPECT_TRUE(initiation_returned.load());
                                        finished.set_value({error, source.token().reason()});
                                    })));
        initiation_returned = true;
    });
    const outcome result = get(finished.get_future());
    EXPECT_EQ(result.error, asio::error::operation_aborted);  // at once: the 1 h timer never started
    EXPECT_EQ(result.reason, halt::errc::client_disconnected);
}

TEST(Bind, WorksWithDeferredAndAsTuple) {
    halt_test::io_threads io;
    asio::steady_timer timer(io.context(), 1h);
    halt::source source;
    std::promise<error_code> finished;
    std::promise<void> started;
    auto operation = timer.async_wait(halt::bind(source.token(), asio::as_tuple(asio::deferred)));
    asio::post(io.context(), [&] {
        std::move(operation)([&](std::tuple<error_code> result) { finished.set_value(std::get<0>(result)); });
        started.set_value();
    });
    get(started.get_future());
    source.cancel();
    EXPECT_EQ(get(finished.get_future()), asio::error::operation_aborted);
}

TEST(Bind, HandlersOwnSlotStillCancels) {
    halt_test::io_threads io;
    auto strand = asio::make_strand(io.context());
    asio::steady_timer timer(strand, 1h);
    halt::source source;  // never cancelled
    asio::cancellation_signal signal;
    std::promise<error_code> finished;
    std::promise<void> started;
    asio::post(strand, [&] {
        timer.async_wait(halt::bind(source.token(), asio::bind_cancellation_slot(signal.slot(), [&](error_code error) {
                                        finished.set_value(error);
                                    })));
        started.set_value();
    });
    get(started.get_future());
    asio::post(strand, [&] { signal.emit(asio::cancellation_type::terminal); });  // Asio's rule: on the strand
    EXPECT_EQ(get(finished.get_future()), asio::error::operation_aborted);
    EXPECT_FALSE(source.is_cancellation_requested());
}

TEST(Bind, CompletedOperationsLeaveNothingRegistered) {
    halt_test::io_threads io;
    halt::source source;
    const halt::token tok = source.token();
    for (int i = 0; i < 100; ++i) {
        asio::steady_timer timer(io.context(), 0ms);
        EXPECT_NO_THROW(get(timer.async_wait(halt::bind(tok, asio::use_future))));
    }
    // Were a registration left behind, cancelling would reach freed operations (ASan would say so).
    source.cancel();
}

TEST(Bind, NoneTokenLeavesTheOperationAsItIs) {
    halt_test::io_threads io;
    asio::steady_timer timer(io.context(), 0ms);
    EXPECT_NO_THROW(get(timer.async_wait(halt::bind(halt::token::none(), asio::use_future))));
}

// Cancel races completion on another thread: the handler runs exactly once, with success or
// operation_aborted, and nothing is touched after it ran (TSan and ASan check the rest).
TEST(Bind, CancelRacingCompletionIsSafe) {
    halt_test::io_threads io;
    for (int i = 0; i < 300; ++i) {
        halt::source source;
        asio::steady_timer timer(io.context(), 0ms);
        std::promise<error_code> finished;
        timer.async_wait(halt::bind(source.token(), [&](error_code error) { finished.set_value(error); }));
        source.cancel();
        const error_code error = get(finished.get_future());
        EXPECT_TRUE(!error || error == asio::error::operation_aborted) << error.message();
    }
}

/// An operation that completes inside its own initiation (allowed for non-Asio operations).
template <class CompletionToken>
auto complete_inline(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler) { std::move(handler)(error_code()); }, token);
}

TEST(Bind, OperationCompletingInsideItsInitiation) {
    halt::source source;
    int completed = 0;
    complete_inline(halt::bind(source.token(), [&](error_code error) {
        EXPECT_FALSE(error);
        ++completed;
    }));
    EXPECT_EQ(completed, 1);
    source.cancel();  // nothing is registered any more
}

TEST(Bind, CancelDuringTheInitiationStillReachesTheOperation) {
    halt_test::io_threads io;
    asio::steady_timer timer(io.context(), 1h);
    halt::source source;
    auto cancel_then_wait = [&](auto handler) {
        source.cancel();  // after halt::bind registered, before the timer installed its slot handler
        timer.async_wait(std::move(handler));
    };
    auto completion = halt::bind(source.token(), asio::use_future);
    std::future<void> waited = asio::async_initiate<decltype(completion), void(error_code)>(cancel_then_wait, completion);
    try {
        get(waited);
        FAIL() << "the wait was not cancelled";
    } catch (const boost::system::system_error& error) {
        EXPECT_EQ(error.code(), asio::error::operation_aborted);
    }
}

TEST(AsyncWait, CompletesWithTheReasonWhenCancelledFromAnotherThread) {
    halt_test::io_threads io;
    halt::source source;
    std::promise<outcome> finished;
    std::promise<void> started;
    asio::post(io.context(), [&] {
        halt::async_wait(source.token(), asio::bind_executor(io.context(), [&](error_code error, std::error_code reason) {
                             finished.set_value({error, reason});
                         }));
        started.set_value();
    });
    get(started.get_future());
    source.cancel(halt::errc::shutting_down);
    const outcome result = get(finished.get_future());
    EXPECT_FALSE(result.error);
    EXPECT_EQ(result.reason, halt::errc::shutting_down);
}

TEST(AsyncWait, AlreadyCancelledAndNeverCancellableTokensCompleteAtOnce) {
    halt_test::io_threads io;
    halt::source source;
    source.cancel(halt::errc::deadline_exceeded);
    auto reason_of = [&](halt::token tok) {
        std::promise<std::error_code> finished;
        halt::async_wait(std::move(tok), asio::bind_executor(io.context(), [&](error_code error, std::error_code reason) {
                             EXPECT_FALSE(error);
                             finished.set_value(reason);
                         }));
        return get(finished.get_future());
    };
    EXPECT_EQ(reason_of(source.token()), halt::errc::deadline_exceeded);
    EXPECT_EQ(reason_of(halt::token::none()), std::error_code());
}

TEST(AsyncWait, SupportsPerOperationCancellation) {
    halt_test::io_threads io;
    auto strand = asio::make_strand(io.context());
    halt::source source;  // never cancelled
    asio::cancellation_signal signal;
    std::promise<error_code> finished;
    std::promise<void> started;
    asio::post(strand, [&] {
        halt::async_wait(source.token(),
                         asio::bind_executor(strand, asio::bind_cancellation_slot(
                                                         signal.slot(), [&](error_code error, std::error_code) {
                                                             finished.set_value(error);
                                                         })));
        started.set_value();
    });
    get(started.get_future());
    asio::post(strand, [&] { signal.emit(asio::cancellation_type::terminal); });
    EXPECT_EQ(get(finished.get_future()), asio::error::operation_aborted);
}

TEST(Channel, ReceiveIsCancelledByToken) {
    halt_test::io_threads io;
    auto strand = asio::make_strand(io.context());
    asio::experimental::channel<void(error_code, int)> channel(strand, 0);  // nothing is ever sent
    halt::source source;
    const halt::token tok = source.token();
    std::promise<void> waiting;
    std::future<std::error_code> received = asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<std::error_code> {
            asio::post(strand, [&] { waiting.set_value(); });  // runs once this coroutine is suspended
            try {
                co_await channel.async_receive(halt::bind(tok, asio::use_awaitable));
            } catch (const boost::system::system_error& error) {
                EXPECT_EQ(error.code(), asio::experimental::error::channel_cancelled);  // channels say it their way
                co_return tok.reason();
            }
            co_return std::error_code();
        },
        asio::use_future);
    get(waiting.get_future());
    source.cancel(halt::errc::client_disconnected);
    EXPECT_EQ(get(received), halt::errc::client_disconnected);
}

}  // namespace
