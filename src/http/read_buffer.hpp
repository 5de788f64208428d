#pragma once
// The bytes read from a connection and not yet parsed. Private to halt_http.
//
// Why not beast::flat_buffer: the connection keeps a read pending into the free space at the tail
// while the parser consumes from the head (the read-ahead that notices a disconnect). The reactor
// thread writes into that tail during the read, so nothing may move or free the storage then;
// this buffer moves bytes only in prepare(), which the connection calls with no read pending, and
// consume() only advances the head.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

#include <boost/asio/buffer.hpp>

namespace halt::http::detail {

class read_buffer {
public:
    /// The first allocation: what an idle connection holds.
    static constexpr std::size_t initial_capacity = 4096;

    std::string_view data() const noexcept { return {storage_.get() + begin_, end_ - begin_}; }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }

    /// Drops the first `n` bytes. Safe with a read pending.
    void consume(std::size_t n) noexcept { begin_ += std::min(n, size()); }
    void clear() noexcept { begin_ = end_; }

    /// The free space at the tail for the next read, after moving the data to the front or growing
    /// the storage (never beyond `capacity_limit`, unless the initial capacity already is). Empty when
    /// the buffer is full and may not grow. Only with no read pending.
    boost::asio::mutable_buffer prepare(std::size_t capacity_limit) {
        if (!storage_) {
            capacity_ = initial_capacity;
            storage_ = std::make_unique<char[]>(capacity_);
        }
        if (begin_ == end_) begin_ = end_ = 0;
        if (end_ == capacity_ || (begin_ > 0 && capacity_ - end_ < capacity_ / 4)) {
            if (begin_ > 0) {
                std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (end_ == capacity_ && capacity_ < capacity_limit) {
                const std::size_t grown = std::min(capacity_ * 2, capacity_limit);
                auto bigger = std::make_unique<char[]>(grown);
                std::memcpy(bigger.get(), storage_.get(), end_);
                storage_ = std::move(bigger);
                capacity_ = grown;
            }
        }
        return {storage_.get() + end_, capacity_ - end_};
    }

    /// Appends the `n` bytes a read put at the tail.
    void commit(std::size_t n) noexcept { end_ = std::min(end_ + n, capacity_); }

private:
    std::unique_ptr<char[]> storage_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace halt::http::detail
