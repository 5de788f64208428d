// Smoke test for a downstream build: headers found, library linked, basic cancellation works.
// Exits 0 on success, or the number of the first failed check.
#include <halt/halt.hpp>

#include <system_error>

int main() {
    halt::source source;
    halt::token token = source.token();
    if (!token.can_be_canceled() || token.is_cancellation_requested()) {
        return 1;
    }

    int calls = 0;
    std::error_code seen;
    halt::registration registration = token.on_cancel([&](std::error_code reason) {
        ++calls;
        seen = reason;
    });

    halt::source child = halt::source::linked(token);
    if (child.is_cancellation_requested()) {
        return 2;
    }

    if (!source.cancel() || source.cancel()) {
        return 3;
    }
    if (calls != 1 || seen != halt::make_error_code(halt::errc::canceled)) {
        return 4;
    }
    if (!token.is_cancellation_requested() || !child.token().is_cancellation_requested()) {
        return 5;
    }
    if (child.token().reason() != halt::make_error_code(halt::errc::canceled)) {
        return 6;
    }
    if (halt::token{}.can_be_canceled()) {
        return 7;
    }
    return 0;
}
