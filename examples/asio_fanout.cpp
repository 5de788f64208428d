// A crawler-like fan-out with halt::asio: fetch every page, four at a time, all within one deadline;
// the first page that fails cancels the others. The "network" is simulated with timers so that the
// example runs anywhere. Usage: asio_fanout [deadline-ms]   (try 60 to watch the deadline win)

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <boost/asio.hpp>

#include <halt/asio.hpp>

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// Downloads one page: takes a while, and ".../broken" answers with an error.
asio::awaitable<void> fetch(const std::string& url, halt::token tok) {
    try {
        co_await halt::delay(std::chrono::milliseconds(40 + 15 * (url.size() % 5)), tok);
        if (url.ends_with("/broken")) throw std::runtime_error(url + " answered 500");
        std::cout << "  fetched   " << url << '\n';
    } catch (const halt::canceled_error& stop) {
        std::cout << "  cancelled " << url << " (" << stop.code().message() << ")\n";
        throw;
    }
}

asio::awaitable<void> crawl(std::vector<std::string> urls, std::chrono::milliseconds budget) {
    halt::source deadline;
    deadline.cancel_after(budget);  // one budget for the whole crawl
    try {
        co_await halt::parallel_for_each(co_await asio::this_coro::executor, urls, fetch, deadline.token(),
                                         halt::max_parallelism{4});
        std::cout << "all pages fetched\n";
    } catch (const halt::canceled_error& stop) {  // the deadline: reason errc::deadline_exceeded
        std::cout << "crawl stopped: " << stop.code().message() << '\n';
    } catch (const std::exception& failure) {  // the first failure; the pages in flight were cancelled
        std::cout << "crawl failed: " << failure.what() << '\n';
    }
}

int main(int argc, char** argv) {
    const std::chrono::milliseconds budget(argc > 1 ? std::atoi(argv[1]) : 2000);
    std::vector<std::string> urls;
    for (int page = 1; page <= 12; ++page) urls.push_back("https://example.com/page/" + std::to_string(page));
    urls.insert(urls.begin() + 6, "https://example.com/broken");

    asio::io_context io;
    asio::co_spawn(io, crawl(urls, budget), asio::detached);
    io.run();
}
