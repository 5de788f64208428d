#include <halt/errc.hpp>

#include <string>

namespace halt {
namespace {

class halt_category final : public std::error_category {
public:
    constexpr halt_category() noexcept = default;

    const char* name() const noexcept override { return "halt"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::canceled: return "operation canceled";
            case errc::deadline_exceeded: return "deadline exceeded";
            case errc::client_disconnected: return "client disconnected";
            case errc::shutting_down: return "shutting down";
        }
        return "unknown halt error " + std::to_string(value);
    }

    // Every halt reason is a kind of cancellation, so code written against
    // std::errc::operation_canceled (Asio's operation_aborted maps there too)
    // recognises it without knowing halt.
    bool equivalent(int value, const std::error_condition& condition) const noexcept override {
        if (condition == std::errc::operation_canceled) return value >= 1 && value <= 4;
        return default_error_condition(value) == condition;
    }
};

// Constant-initialised: category() is on the path of every cancel(), and a
// function-local static would add a guard check to each call.
constinit const halt_category instance;

}  // namespace

const std::error_category& category() noexcept { return instance; }

}  // namespace halt
