// source::linked: a source that its parents cancel.

#include <halt/source.hpp>

#include <exception>
#include <forward_list>
#include <vector>

namespace halt {
namespace detail {

/// The std::stop_callbacks a linked source holds on std::stop_token parents.
struct std_parent_links {
    struct forward_stop {
        state* child;
        void operator()() const noexcept {
            // Same lifetime argument as state::run_link: the child's detach
            // destroys this callback, which waits for a running invocation.
            if (!child->try_add_reference()) return;
            try {
                child->cancel(make_error_code(errc::canceled));
            } catch (...) {
                // std::stop_source::request_stop is noexcept; an exception from
                // a halt callback cannot travel through it.
                std::terminate();
            }
            child->release_reference();
        }
    };
    std::forward_list<std::stop_callback<forward_stop>> callbacks;
};

void destroy_std_parent_links(std_parent_links* links) noexcept { delete links; }

}  // namespace detail

source source::make_linked(std::span<detail::state* const> parents,
                           std::span<const std::stop_token* const> std_parents) {
    std::size_t link_count = 0;
    for (detail::state* parent : parents) link_count += parent != nullptr ? 1 : 0;
    source result(detail::state::create(link_count));
    detail::state* const child = result.state_;

    std::size_t next = 0;
    bool inherits_deadline = false;
    for (detail::state* parent : parents) {
        if (parent == nullptr) continue;  // a none token never cancels
        detail::link_node& link = child->links()[next++];
        // The parent's deadline is read under the list lock it is inserted
        // with, so that a concurrent cancel_at on the parent either sees this
        // link or wrote its new deadline before we read it.
        const bool attached = parent->attach(link, [&]() noexcept {
            link.inherited.store(parent->effective_deadline(), std::memory_order_relaxed);
        });
        if (!attached) {
            child->cancel(parent->reason());
            return result;
        }
        inherits_deadline |= link.inherited.load(std::memory_order_relaxed) != detail::no_deadline;
    }
    // Without any deadline the effective one is already "none"; a parent that
    // gets one later pushes it down itself.
    if (inherits_deadline) child->refresh_effective_deadline();

    std::unique_ptr<detail::std_parent_links> std_links;
    for (const std::stop_token* parent : std_parents) {
        if (!parent->stop_possible()) continue;
        if (!std_links) std_links = std::make_unique<detail::std_parent_links>();
        // Runs the forwarder at once if the parent has already stopped.
        std_links->callbacks.emplace_front(*parent, detail::std_parent_links::forward_stop{child});
    }
    if (std_links) child->set_std_parent_links(std_links.release());
    return result;
}

source source::linked(std::span<const halt::token> parents) {
    std::vector<detail::state*> states;
    states.reserve(parents.size());
    for (const halt::token& parent : parents) states.push_back(detail::token_access::get(parent));
    return make_linked(states, {});
}

}  // namespace halt
