#include <halt/http/router.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "percent_decode.hpp"

namespace halt::http {
namespace {

/// Splits off the next segment of a path (the text up to the next '/', which is dropped).
std::string_view next_segment(std::string_view& rest) noexcept {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    return segment;
}

/// A path as matched: without its leading '/' and without one trailing '/'.
std::string_view normalize(std::string_view path) noexcept {
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (!path.empty() && path.back() == '/') path.remove_suffix(1);
    return path;
}

}  // namespace

/// One segment position of the patterns. Precedence when matching: literal children, then the
/// parameter child, then the catch-all; the first route of the right method found wins.
struct router::node {
    std::vector<std::pair<std::string, std::unique_ptr<node>>> literals;
    std::unique_ptr<node> parameter;
    std::unique_ptr<node> catch_all;
    /// Routes whose pattern ends here, at most one per method, and each one's parameter names in
    /// pattern order (names may differ between methods: GET /items/{id}, DELETE /items/{key}).
    std::vector<const http::route*> routes;
    std::vector<std::vector<std::string_view>> parameter_names;

    /// Matches `rest` (the path after this node's segment) in this subtree. On a route of `method`,
    /// fills `out` and returns true. Remembers in `path_only` the first node whose routes have the
    /// path but other methods.
    bool find(verb method, std::string_view rest, std::vector<std::string>& values, route_match& out,
              const node*& path_only) const {
        if (rest.empty()) {
            if (ends_here(method, values, out, path_only)) return true;
            if (catch_all) return try_catch_all(method, {}, values, out, path_only);
            return false;
        }
        std::string_view after = rest;
        const std::string_view segment = next_segment(after);
        if (!literals.empty()) {
            std::string decoded_storage;
            std::string_view decoded = segment;
            if (segment.find('%') != std::string_view::npos) {
                decoded_storage = detail::percent_decode(segment);
                decoded = decoded_storage;
            }
            for (const auto& [literal, child] : literals) {
                if (literal == decoded && child->find(method, after, values, out, path_only)) return true;
            }
        }
        if (parameter && !segment.empty()) {
            values.push_back(detail::percent_decode(segment));
            if (parameter->find(method, after, values, out, path_only)) return true;
            values.pop_back();
        }
        if (catch_all) return try_catch_all(method, rest, values, out, path_only);
        return false;
    }

private:
    bool try_catch_all(verb method, std::string_view rest, std::vector<std::string>& values, route_match& out,
                       const node*& path_only) const {
        values.push_back(detail::percent_decode(rest));
        if (catch_all->ends_here(method, values, out, path_only)) return true;
        values.pop_back();
        return false;
    }

    bool ends_here(verb method, std::vector<std::string>& values, route_match& out, const node*& path_only) const {
        for (std::size_t i = 0; i < routes.size(); ++i) {
            if (routes[i]->method != method) continue;
            out.route = routes[i];
            out.parameters.reserve(values.size());
            for (std::size_t p = 0; p < values.size(); ++p) {
                out.parameters.emplace_back(parameter_names[i][p], std::move(values[p]));
            }
            return true;
        }
        if (!routes.empty() && path_only == nullptr) path_only = this;
        return false;
    }
};

router::router() : root_(std::make_unique<node>()) {}
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;
router::~router() = default;

router::router(const router& other) : router() {
    for (const auto& entry : other.routes_) add(std::make_unique<http::route>(*entry));
}

router& router::operator=(const router& other) {
    if (this != &other) *this = router(other);
    return *this;
}

router& router::map(verb method, std::string_view pattern, handler coroutine, route_options options) {
    if (!coroutine) throw std::invalid_argument("halt::http::router: empty handler for " + std::string(pattern));
    auto entry = std::make_unique<http::route>();
    entry->method = method;
    entry->pattern = std::string(pattern);
    entry->coroutine = std::move(coroutine);
    entry->options = std::move(options);
    return add(std::move(entry));
}

router& router::map(verb method, std::string_view pattern, blocking_handler blocking, route_options options) {
    if (!blocking) throw std::invalid_argument("halt::http::router: empty handler for " + std::string(pattern));
    auto entry = std::make_unique<http::route>();
    entry->method = method;
    entry->pattern = std::string(pattern);
    entry->blocking = std::move(blocking);
    entry->options = std::move(options);
    return add(std::move(entry));
}

router& router::add(std::unique_ptr<http::route> entry) {
    const std::string& pattern = entry->pattern;
    const auto fail = [&](const char* why) {
        throw std::invalid_argument("halt::http::router: pattern \"" + pattern + "\": " + why);
    };
    if (pattern.empty() || pattern.front() != '/') fail("must start with '/'");

    node* current = root_.get();
    std::vector<std::string_view> names;
    std::string_view rest = normalize(pattern);
    bool after_catch_all = false;
    while (!rest.empty()) {
        if (after_catch_all) fail("a catch-all {*name} must be the last segment");
        const std::string_view segment = next_segment(rest);
        if (!segment.empty() && segment.front() == '{') {
            if (segment.size() < 3 || segment.back() != '}') fail("a parameter is written {name} or {*name}");
            std::string_view name = segment.substr(1, segment.size() - 2);
            const bool catch_all = name.front() == '*';
            if (catch_all) name.remove_prefix(1);
            if (name.empty() || name.find_first_of("{}*/") != std::string_view::npos) fail("bad parameter name");
            if (std::find(names.begin(), names.end(), name) != names.end()) fail("two parameters of one name");
            names.push_back(name);
            std::unique_ptr<node>& child = catch_all ? current->catch_all : current->parameter;
            if (!child) child = std::make_unique<node>();
            current = child.get();
            after_catch_all = catch_all;
        } else {
            if (segment.empty()) fail("empty segment");
            if (segment.find_first_of("{}") != std::string_view::npos) fail("braces inside a literal segment");
            auto found = std::find_if(current->literals.begin(), current->literals.end(),
                                      [&](const auto& literal) { return literal.first == segment; });
            if (found == current->literals.end()) {
                current->literals.emplace_back(std::string(segment), std::make_unique<node>());
                found = std::prev(current->literals.end());
            }
            current = found->second.get();
        }
    }
    for (const http::route* existing : current->routes) {
        if (existing->method == entry->method) fail("this method and pattern are already routed");
    }
    entry->index = routes_.size();
    // The names view the route's own pattern string, which lives (in its unique_ptr) as long as the
    // router; `pattern` is that string.
    current->routes.push_back(entry.get());
    current->parameter_names.push_back(std::move(names));
    routes_.push_back(std::move(entry));
    return *this;
}

route_match router::match(verb method, std::string_view path) const {
    route_match result;
    std::vector<std::string> values;
    const node* path_only = nullptr;
    const std::string_view rest = normalize(path);
    if (root_->find(method, rest, values, result, path_only)) return result;
    if (method == verb::head) {
        values.clear();
        const node* ignored = nullptr;
        if (root_->find(verb::get, rest, values, result, ignored)) {
            result.head_as_get = true;
            return result;
        }
    }
    if (path_only != nullptr) {
        for (const http::route* candidate : path_only->routes) result.allowed_methods.push_back(candidate->method);
        if (std::find(result.allowed_methods.begin(), result.allowed_methods.end(), verb::get) !=
                result.allowed_methods.end() &&
            std::find(result.allowed_methods.begin(), result.allowed_methods.end(), verb::head) ==
                result.allowed_methods.end()) {
            result.allowed_methods.push_back(verb::head);
        }
    }
    return result;
}

}  // namespace halt::http
