#include <halt/http/request_timeout.hpp>

#include <cstdint>
#include <limits>

namespace halt::http {
namespace {

std::string_view trim(std::string_view value) noexcept {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return value;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::chrono::milliseconds> parse_request_timeout_ms(std::string_view value) noexcept {
    value = trim(value);
    bool negative = false;
    if (!value.empty() && value.front() == '-') {
        negative = true;
        value.remove_prefix(1);
    }
    if (value.empty()) return std::nullopt;
    using rep = std::chrono::milliseconds::rep;
    constexpr rep limit = std::numeric_limits<rep>::max();
    rep total = 0;
    for (const char c : value) {
        if (!is_digit(c)) return std::nullopt;
        const rep digit = c - '0';
        // Saturate instead of overflowing: a budget of 10^30 ms is as good as unbounded.
        total = total > (limit - digit) / 10 ? limit : total * 10 + digit;
    }
    return std::chrono::milliseconds(negative ? -total : total);
}

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(std::string_view value) noexcept {
    value = trim(value);
    if (value.size() < 2 || value.size() > 9) return std::nullopt;
    const char unit = value.back();
    value.remove_suffix(1);
    std::int64_t amount = 0;
    for (const char c : value) {
        if (!is_digit(c)) return std::nullopt;
        amount = amount * 10 + (c - '0');  // at most 8 digits: no overflow
    }
    std::int64_t unit_nanoseconds = 0;
    switch (unit) {
        case 'H': unit_nanoseconds = 3'600'000'000'000; break;
        case 'M': unit_nanoseconds = 60'000'000'000; break;
        case 'S': unit_nanoseconds = 1'000'000'000; break;
        case 'm': unit_nanoseconds = 1'000'000; break;
        case 'u': unit_nanoseconds = 1'000; break;
        case 'n': unit_nanoseconds = 1; break;
        default: return std::nullopt;
    }
    // 10^8 hours does not fit in 64-bit nanoseconds: saturate.
    constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max();
    if (amount > limit / unit_nanoseconds) return std::chrono::nanoseconds(limit);
    return std::chrono::nanoseconds(amount * unit_nanoseconds);
}

std::string format_request_timeout_ms(std::chrono::nanoseconds budget) {
    if (budget.count() < 0) return "0";
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(budget).count());
}

std::string format_grpc_timeout(std::chrono::nanoseconds budget) {
    if (budget.count() < 0) return "0n";
    constexpr std::int64_t max_value = 99'999'999;  // 8 digits
    struct unit {
        std::int64_t nanoseconds;
        char suffix;
    };
    constexpr unit units[] = {{1, 'n'},
                              {1'000, 'u'},
                              {1'000'000, 'm'},
                              {1'000'000'000, 'S'},
                              {60'000'000'000, 'M'},
                              {3'600'000'000'000, 'H'}};
    for (const unit& u : units) {
        const std::int64_t value = budget.count() / u.nanoseconds;
        if (value <= max_value) return std::to_string(value) + u.suffix;
    }
    return std::to_string(max_value) + 'H';
}

}  // namespace halt::http
