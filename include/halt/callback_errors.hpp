#pragma once
// The exception cancel() throws when callbacks threw.

#include <exception>
#include <vector>

namespace halt {

/// Thrown by source::cancel() after every callback has run, when at least one
/// of them threw. Holds each callback's exception in the order the callbacks
/// ran (newest registration first). Nothing is lost: unlike .NET's
/// AggregateException-or-first-only choice, there is one behaviour.
class callback_errors : public std::exception {
public:
    explicit callback_errors(std::vector<std::exception_ptr> errors) noexcept
        : errors_(std::move(errors)) {}

    /// Every exception thrown by a callback, in run order. Never empty.
    const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }

    const char* what() const noexcept override {
        return "halt: one or more cancellation callbacks threw";
    }

private:
    std::vector<std::exception_ptr> errors_;
};

}  // namespace halt
