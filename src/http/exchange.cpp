#include "exchange.hpp"

#include <algorithm>
#include <string_view>

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/system/system_error.hpp>

#include <halt/asio/run.hpp>
#include <halt/canceled_error.hpp>
#include <halt/errc.hpp>
#include <halt/http/access_log.hpp>
#include <halt/http/request_timeout.hpp>
#include <halt/http/response.hpp>

#include "server_state.hpp"

namespace halt::http::detail {
namespace {

using clock = std::chrono::steady_clock;

/// `origin + limit`, or std::nullopt when that is past what the clock can represent.
std::optional<clock::time_point> add_saturated(clock::time_point origin, std::chrono::nanoseconds limit) {
    if (limit.count() > 0 && limit > clock::time_point::max() - origin) return std::nullopt;
    return origin + std::chrono::duration_cast<clock::duration>(limit);
}

void keep_earliest(std::optional<clock::time_point>& deadline, std::optional<clock::time_point> candidate) {
    if (candidate && (!deadline || *candidate < *deadline)) deadline = candidate;
}

http::response bad_request(std::string_view why) {
    std::string body = "Bad Request: ";
    body.append(why).push_back('\n');
    return make_response(status::bad_request, std::move(body));
}

}  // namespace

exchange::exchange(server_state& server, http::request message, const boost::asio::ip::tcp::endpoint& remote,
                   clock::time_point first_byte)
    : server_(server), context_(std::move(message)), first_byte_(first_byte) {
    const http::request& request = context_.request();
    version_ = request.version();
    head_only_ = request.method() == verb::head;
    if (server_.options.access_log) {
        method_ = std::string(request.method_string());
        target_ = std::string(request.target());
    }
    context_access::set_remote(context_, remote);
    server_.metrics.request_started();
}

exchange::~exchange() {
    if (!finished_) server_.metrics.request_finished();
}

std::optional<http::response> exchange::prepare() {
    const http::request& request = context_.request();
    const std::string_view target = request.target();
    route_match found = server_.router.match(request.method(), target.substr(0, target.find('?')));
    if (found.route == nullptr) {
        if (found.allowed_methods.empty()) return make_status_response(status::not_found);
        http::response reply = make_status_response(status::method_not_allowed);
        std::string allow;
        for (const verb method : found.allowed_methods) {
            if (!allow.empty()) allow += ", ";
            allow += boost::beast::http::to_string(method);
        }
        reply.set(field::allow, allow);
        return reply;
    }
    route_ = found.route;

    // The deadline: the route's timeout, lowered by the budget the caller sent, both counted from
    // the request's first byte.
    std::optional<clock::time_point> deadline;
    const route_timeout& timeout = route_->options.timeout;
    if (timeout.is_server_default()) {
        if (server_.options.request_timeout) deadline = add_saturated(first_byte_, *server_.options.request_timeout);
    } else if (!timeout.is_disabled()) {
        deadline = add_saturated(first_byte_, timeout.limit());
    }
    if (server_.options.honor_request_timeout_headers) {
        const auto header = request.find(request_timeout_header);
        if (header != request.end()) {
            const auto budget = parse_request_timeout_ms(header->value());
            if (!budget) return bad_request("invalid X-Request-Timeout-Ms");
            keep_earliest(deadline, add_saturated(first_byte_, *budget));
        }
        const auto grpc = request.find(grpc_timeout_header);
        if (grpc != request.end()) {
            const auto budget = parse_grpc_timeout(grpc->value());
            if (!budget) return bad_request("invalid grpc-timeout");
            keep_earliest(deadline, add_saturated(first_byte_, *budget));
        }
    }

    source_.emplace(halt::source::linked(server_.abort.token()));
    // A deadline already past cancels at once, with deadline_exceeded: a spent budget.
    deadline_ = deadline;
    if (deadline) source_->cancel_at(*deadline);
    context_access::bind(context_, source_->token(), route_->pattern, std::move(found.parameters),
                         context_.remote_endpoint(), &server_.lifetime);
    head_only_ = head_only_ || found.head_as_get;

    if (const std::error_code why = context_.request_aborted().reason()) {
        // Cancelled before the handler could start: a spent budget, or the server's grace is over.
        server_.metrics.record_cancellation(why);
        if (why == halt::errc::shutting_down) return make_status_response(status::service_unavailable);
        return make_status_response(route_->options.timeout_status.value_or(server_.options.timeout_status));
    }
    return std::nullopt;
}

boost::asio::awaitable<http::response> exchange::run_blocking() {
    co_return co_await halt::run(
        server_.workers.get_executor(), [this] { return route_->blocking(context_); }, context_.request_aborted(),
        boost::asio::use_awaitable);
}

std::optional<http::response> exchange::on_handler_exit(std::exception_ptr error, http::response result) {
    const clock::time_point exited_at = clock::now();
    const std::error_code why = reason();
    if (why) {
        server_.metrics.record_cancellation(why);
        // When the cancellation happened, from its reason rather than from a callback on the token: a
        // callback runs after the ones registered later (the handler's own), which may already have
        // ended the handler, so it could be too late to be waited for here.
        std::optional<clock::time_point> cancelled_at = cancel_requested_at_;
        if (!cancelled_at && why == halt::errc::deadline_exceeded) cancelled_at = deadline_;
        if (!cancelled_at && why == halt::errc::shutting_down) cancelled_at = server_.aborted_at();
        if (cancelled_at) {
            cancel_to_exit_ = std::max(clock::duration(0), exited_at - std::max(*cancelled_at, started_at_));
            server_.metrics.record_cancel_to_exit(*cancel_to_exit_);
        }
    }
    if (why == halt::errc::client_disconnected) return std::nullopt;  // nobody to answer
    if (!error) return result;

    // The handler failed. It ended because of its cancellation if it let a halt::canceled_error or an
    // Asio operation_aborted out while its token was cancelled.
    bool ended_by_cancellation = false;
    std::string what;
    try {
        std::rethrow_exception(error);
    } catch (const halt::canceled_error& e) {
        ended_by_cancellation = true;
        what = e.what();
    } catch (const boost::system::system_error& e) {
        ended_by_cancellation = e.code() == boost::asio::error::operation_aborted;
        what = e.what();
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
        what = "an exception not derived from std::exception";
    }
    if (ended_by_cancellation && why == halt::errc::deadline_exceeded) {
        return make_status_response(route_->options.timeout_status.value_or(server_.options.timeout_status));
    }
    if (ended_by_cancellation && why == halt::errc::shutting_down) {
        return make_status_response(status::service_unavailable);
    }
    server_.log_error(std::string("handler of ") + method_ + " " + std::string(route_->pattern) + " failed: " + what);
    return make_status_response(status::internal_server_error);
}

void exchange::finish(unsigned status, bool written) noexcept {
    if (finished_) return;
    finished_ = true;
    const auto duration = clock::now() - first_byte_;
    server_.metrics.request_finished();
    server_.metrics.record_request(route_ != nullptr ? route_->index : server_.router.routes().size(), status,
                                   duration);
    if (!server_.options.access_log) return;
    access_log_entry entry;
    entry.remote_endpoint = context_.remote_endpoint();
    entry.method = method_;
    entry.target = target_;
    entry.route = route_ != nullptr ? std::string_view(route_->pattern) : std::string_view();
    entry.status = status;
    entry.response_written = written;
    entry.duration = duration;
    entry.reason = reason();
    entry.cancel_to_exit = cancel_to_exit_;
    try {
        server_.options.access_log(entry);
    } catch (...) {
        // A failing log sink must not take the connection down.
    }
}

void finish_rejected(server_state& server, const boost::asio::ip::tcp::endpoint& remote, std::string_view method,
                     std::string_view target, unsigned status, bool written,
                     std::chrono::steady_clock::time_point first_byte) noexcept {
    const auto duration = clock::now() - first_byte;
    server.metrics.record_request(server.router.routes().size(), status, duration);
    if (!server.options.access_log) return;
    access_log_entry entry;
    entry.remote_endpoint = remote;
    entry.method = method;
    entry.target = target;
    entry.status = status;
    entry.response_written = written;
    entry.duration = duration;
    try {
        server.options.access_log(entry);
    } catch (...) {
    }
}

}  // namespace halt::http::detail
