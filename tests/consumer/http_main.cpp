// Smoke test of halt::http for a downstream build: the client links (Beast, OpenSSL) and a call on a
// cancelled token fails with the token's reason, for http and https alike, without touching the network.
// Exits 0 on success, or the number of the first failed check.
#include <halt/canceled_error.hpp>
#include <halt/http/client.hpp>
#include <halt/source.hpp>

#include <string>

int main() {
    halt::http::blocking_client http;
    halt::source source;
    source.cancel(halt::errc::shutting_down);
    int check = 0;
    for (const std::string url : {"http://127.0.0.1:9/", "https://127.0.0.1:9/"}) {
        ++check;
        try {
            http.get(url, source.token());
            return check;
        } catch (const halt::canceled_error& error) {
            if (error.code() != halt::errc::shutting_down) return check;
        }
    }
    return 0;
}
