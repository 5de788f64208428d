#include <halt/http/request_context.hpp>

#include <stdexcept>
#include <string>

namespace halt::http {

std::string_view request_context::path() const noexcept {
    const std::string_view target = request_.target();
    return target.substr(0, target.find('?'));
}

std::string_view request_context::query() const noexcept {
    const std::string_view target = request_.target();
    const std::size_t mark = target.find('?');
    return mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
}

std::optional<std::string_view> request_context::find_path_parameter(std::string_view name) const noexcept {
    for (const auto& [key, value] : parameters_) {
        if (key == name) return std::string_view(value);
    }
    return std::nullopt;
}

std::string_view request_context::path_parameter(std::string_view name) const {
    if (const auto value = find_path_parameter(name)) return *value;
    throw std::out_of_range("halt::http::request_context: route \"" + std::string(route_) +
                            "\" has no path parameter \"" + std::string(name) + "\"");
}

http::lifetime& request_context::application_lifetime() const {
    if (lifetime_ == nullptr) throw std::logic_error("halt::http::request_context: not created by a server");
    return *lifetime_;
}

}  // namespace halt::http
