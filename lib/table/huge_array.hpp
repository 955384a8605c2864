// A fixed-size array of trivially constructible T in zeroed anonymous memory, advised for
// transparent huge pages (10M-entry tables are TLB-bound otherwise) and populated up front: the
// page faults happen at construction, never on the packet path (they were 38 % of the stateful
// SYN path's time before), and a table that does not fit fails at start-up, not mid-flood.
// Preallocated once; never grows.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace synwall::table {

template <class T>
class HugeArray {
    static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);

public:
    HugeArray() = default;
    explicit HugeArray(size_t n) : n_(n) {
        if (n == 0) return;
        bytes_ = n * sizeof(T);
        void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        if (bytes_ >= (size_t{2} << 20)) madvise(p, bytes_, MADV_HUGEPAGE);
        // Touch every page now (MAP_POPULATE would fault before the huge-page advice applies).
        for (size_t off = 0; off < bytes_; off += 4096) static_cast<volatile uint8_t*>(p)[off] = 0;
        data_ = static_cast<T*>(p);
    }
    HugeArray(HugeArray&& o) noexcept { swap(o); }
    HugeArray& operator=(HugeArray&& o) noexcept {
        swap(o);
        return *this;
    }
    HugeArray(const HugeArray&) = delete;
    HugeArray& operator=(const HugeArray&) = delete;
    ~HugeArray() {
        if (data_) munmap(data_, bytes_);
    }

    T& operator[](size_t i) noexcept { return data_[i]; }
    const T& operator[](size_t i) const noexcept { return data_[i]; }
    T* data() noexcept { return data_; }
    size_t size() const noexcept { return n_; }
    size_t bytes() const noexcept { return bytes_; }

private:
    void swap(HugeArray& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(n_, o.n_);
        std::swap(bytes_, o.bytes_);
    }
    T* data_ = nullptr;
    size_t n_ = 0;
    size_t bytes_ = 0;
};

}  // namespace synwall::table
