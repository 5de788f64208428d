#pragma once
// Waiting in tests without sleeping to make them pass: spin (yielding) until a
// condition holds, but give up after a limit, so that a broken library fails
// the test instead of hanging it.

#include <chrono>
#include <thread>

template <class Condition>
bool wait_until_true(Condition condition, std::chrono::milliseconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::yield();
    }
    return true;
}
