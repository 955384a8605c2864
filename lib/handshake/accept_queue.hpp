// The accept queue of one listener on one worker (the kernel's icsk_accept_queue).
//
// A bounded single-producer single-consumer lock-free queue (Boost.Lockfree spsc_queue): the
// worker pushes connections as handshakes complete, the application pops them, inline in the worker
// or on its own core. `backlog` is the listen(2) backlog: push() fails once that many connections
// wait, and the engine counts ListenOverflows. Storage is allocated once at construction.
// Threading: push()/full() from the producer thread only, pop() from the consumer thread only.
#pragma once

#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>

#include "handshake/connection.hpp"

namespace synwall::handshake {

class AcceptQueue {
public:
    explicit AcceptQueue(uint32_t backlog) : queue_(backlog), backlog_(backlog) {}

    bool full() const noexcept { return queue_.write_available() == 0; }
    bool push(const Connection& c) noexcept { return queue_.push(c); }
    bool pop(Connection& out) noexcept { return queue_.pop(out); }
    size_t pop(Connection* out, size_t n) noexcept { return queue_.pop(out, n); }
    uint32_t backlog() const noexcept { return backlog_; }
    size_t size_consumer() const noexcept { return queue_.read_available(); }

private:
    boost::lockfree::spsc_queue<Connection> queue_;
    uint32_t backlog_;
};

}  // namespace synwall::handshake
