#pragma once
// What a call throws, for tests that look into the exception rather than only its type.

#include <exception>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace halt_test {

/// The exception of type E that `call` throws, or nothing (and a failure) if it throws none or another.
template <class E, class F>
std::optional<E> thrown(F&& call) {
    try {
        call();
        ADD_FAILURE() << "no exception";
    } catch (const E& error) {
        return error;
    } catch (const std::exception& error) {
        ADD_FAILURE() << "unexpected exception: " << error.what();
    }
    return std::nullopt;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace halt_test
