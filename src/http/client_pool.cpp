#include <halt/http/detail/client_pool.hpp>

#include <algorithm>
#include <iterator>
#include <utility>

#include <boost/asio/post.hpp>

namespace halt::http::detail {

connection_pool::connection_pool(std::size_t max_connections_per_host, std::chrono::steady_clock::duration idle_timeout)
    : max_connections_per_host_(std::max<std::size_t>(max_connections_per_host, 1)), idle_timeout_(idle_timeout) {}

connection_pool::~connection_pool() = default;

std::optional<client_grant> connection_pool::acquire(const std::string& host,
                                                     const std::shared_ptr<client_waiter>& waiter) {
    std::vector<std::unique_ptr<client_connection>> expired;  // closed after the lock is released
    std::optional<client_grant> result;
    {
        std::lock_guard lock(mutex_);
        host_state& state = hosts_[host];
        const auto now = std::chrono::steady_clock::now();
        while (!state.idle.empty() && now - state.idle.front()->idle_since >= idle_timeout_) {
            expired.push_back(std::move(state.idle.front()));
            state.idle.pop_front();
            --state.open;
        }
        if (!state.idle.empty()) {
            result.emplace(client_grant{std::move(state.idle.back())});
            state.idle.pop_back();
        } else if (state.open < max_connections_per_host_) {
            ++state.open;
            result.emplace();
        } else {
            state.waiters.push_back(waiter);
            waiter->queued = true;
        }
    }
    return result;
}

std::optional<client_grant> connection_pool::take_grant(const std::shared_ptr<client_waiter>& waiter) {
    std::lock_guard lock(mutex_);
    return std::exchange(waiter->grant, std::nullopt);
}

void connection_pool::abandon(const std::string& host, const std::shared_ptr<client_waiter>& waiter) {
    std::optional<client_grant> granted;
    {
        std::lock_guard lock(mutex_);
        if (waiter->queued) {
            const auto found = hosts_.find(host);
            auto& waiters = found->second.waiters;
            waiters.erase(std::find(waiters.begin(), waiters.end(), waiter));
            waiter->queued = false;
            forget_if_unused(found);
            return;
        }
        granted = std::exchange(waiter->grant, std::nullopt);
    }
    // Granted while it was giving up: pass it on as if this call had used it.
    if (granted) {
        const bool reusable = granted->connection != nullptr;
        release(host, std::move(granted->connection), reusable);
    }
}

void connection_pool::forget_if_unused(std::unordered_map<std::string, host_state>::iterator found) {
    const host_state& state = found->second;
    if (state.open == 0 && state.waiters.empty()) hosts_.erase(found);
}

bool connection_pool::hand_to_waiter(host_state& state, client_grant& grant) {
    if (state.waiters.empty()) return false;
    std::shared_ptr<client_waiter> waiter = std::move(state.waiters.front());
    state.waiters.pop_front();
    waiter->queued = false;
    waiter->grant.emplace(std::move(grant));
    // The timer belongs to the waiter's executor; the wake runs there (never inline: post).
    auto executor = waiter->wake.get_executor();
    asio::post(executor, [waiter = std::move(waiter)] { waiter->wake.cancel(); });
    return true;
}

void connection_pool::release(const std::string& host, std::unique_ptr<client_connection> connection, bool reusable) {
    std::unique_ptr<client_connection> closing;  // closed after the lock is released
    {
        std::lock_guard lock(mutex_);
        const auto found = hosts_.find(host);  // present: what is released was acquired from it
        host_state& state = found->second;
        if (connection != nullptr && reusable && !shut_down_) {
            client_grant grant{std::move(connection)};
            if (!hand_to_waiter(state, grant)) {
                grant.connection->idle_since = std::chrono::steady_clock::now();
                state.idle.push_back(std::move(grant.connection));
            }
        } else {
            closing = std::move(connection);
            client_grant slot;  // the slot it held, for the next waiter to connect with
            if (!hand_to_waiter(state, slot)) --state.open;
            forget_if_unused(found);
        }
    }
    if (closing != nullptr) {
        boost::system::error_code ignored;
        closing->socket.close(ignored);
    }
}

void connection_pool::shut_down() {
    std::vector<std::unique_ptr<client_connection>> idle;
    {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        for (auto found = hosts_.begin(); found != hosts_.end();) {
            host_state& state = found->second;
            for (auto& connection : state.idle) idle.push_back(std::move(connection));
            state.open -= state.idle.size();
            state.idle.clear();
            const auto next = std::next(found);
            forget_if_unused(found);
            found = next;
        }
    }
}

connection_pool::host_counts connection_pool::counts(const std::string& host) const {
    std::lock_guard lock(mutex_);
    const auto found = hosts_.find(host);
    if (found == hosts_.end()) return {};
    return {found->second.open, found->second.idle.size(), found->second.waiters.size()};
}

}  // namespace halt::http::detail
