#include <halt/http/lifetime.hpp>

namespace halt::http {

lifetime::lifetime() = default;
lifetime::~lifetime() = default;

void lifetime::stop_application() {
    if (stop_) stop_();
}

}  // namespace halt::http
