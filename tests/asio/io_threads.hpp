#pragma once
// Test helpers shared by the halt::asio tests: an io_context run by several threads, and bounded waits.

#include <chrono>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

namespace halt_test {

/// Every test runs its handlers on an io_context with several threads, as a server would.
class io_threads {
public:
    explicit io_threads(unsigned count = 4) : work_(boost::asio::make_work_guard(context_)) {
        for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this] { context_.run(); });
    }
    io_threads(const io_threads&) = delete;
    io_threads& operator=(const io_threads&) = delete;
    ~io_threads() {
        work_.reset();
        for (std::thread& thread : threads_) thread.join();
    }

    boost::asio::io_context& context() noexcept { return context_; }
    boost::asio::io_context::executor_type executor() noexcept { return context_.get_executor(); }

private:
    boost::asio::io_context context_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
};

/// How long a test waits for something that should happen promptly before it calls it a hang.
inline constexpr std::chrono::seconds hang_limit{60};

/// Keeps every exception a test receives from an io thread alive until the process ends.
///
/// Why: libstdc++ counts exception_ptr references inside libstdc++.so, which TSan does not see. When
/// the io thread happens to drop the last reference after the test thread has read the exception,
/// TSan reports the free as racing that read. Holding one more reference here moves the free to the
/// main thread at exit, after every io thread was joined.
inline void keep_alive(std::exception_ptr error) {
    static std::mutex mutex;
    static std::vector<std::exception_ptr> kept;
    std::lock_guard lock(mutex);
    kept.push_back(std::move(error));
}

/// Waits (bounded) for `future` and returns its value, or rethrows its exception; fails the test on a
/// hang.
template <class T>
T get(std::future<T>& future) {
    if (future.wait_for(hang_limit) != std::future_status::ready) {
        ADD_FAILURE() << "timed out waiting for an asynchronous result";
        std::terminate();  // the handlers still refer to the test's frame: nothing safe to return to
    }
    try {
        return future.get();
    } catch (...) {
        keep_alive(std::current_exception());
        throw;
    }
}
template <class T>
T get(std::future<T>&& future) {
    return get(future);
}

}  // namespace halt_test
