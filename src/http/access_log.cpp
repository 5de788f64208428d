#include <halt/http/access_log.hpp>

#include <cstdio>
#include <mutex>

#include <halt/errc.hpp>

namespace halt::http {
namespace {

void append_milliseconds(std::string& out, std::chrono::nanoseconds d) {
    char text[32];
    const int length = std::snprintf(text, sizeof text, "%.3fms", static_cast<double>(d.count()) / 1e6);
    if (length > 0) out.append(text, static_cast<std::size_t>(length));
}

}  // namespace

std::string reason_name(std::error_code reason) {
    if (!reason) return "-";
    if (reason.category() == halt::category()) {
        switch (static_cast<halt::errc>(reason.value())) {
            case halt::errc::canceled: return "canceled";
            case halt::errc::deadline_exceeded: return "deadline_exceeded";
            case halt::errc::client_disconnected: return "client_disconnected";
            case halt::errc::shutting_down: return "shutting_down";
        }
    }
    return reason.message();
}

std::string format_access_log_line(const access_log_entry& entry) {
    std::string line;
    line.reserve(128 + entry.target.size());
    line += entry.remote_endpoint.address().to_string();
    line += ':';
    line += std::to_string(entry.remote_endpoint.port());
    line += " \"";
    line += entry.method.empty() ? std::string_view("-") : entry.method;
    line += ' ';
    line += entry.target;
    line += "\" ";
    line += std::to_string(entry.status);
    line += ' ';
    append_milliseconds(line, entry.duration);
    line += " reason=";
    line += reason_name(entry.reason);
    if (entry.cancel_to_exit) {
        line += " cancel_to_exit=";
        append_milliseconds(line, *entry.cancel_to_exit);
    }
    if (!entry.route.empty()) {
        line += " route=";
        line += entry.route;
    }
    if (!entry.response_written) line += " no_response";
    return line;
}

access_log_sink stderr_access_log() {
    return [](const access_log_entry& entry) {
        std::string line = format_access_log_line(entry);
        line.push_back('\n');
        // One fwrite per line: stdio locks the stream, so lines from several threads never interleave.
        std::fwrite(line.data(), 1, line.size(), stderr);
    };
}

}  // namespace halt::http
