#include "cookie/syn_cookie.hpp"

#include <cstring>

namespace synwall::cookie {

uint8_t mss_to_index(net::Family f, uint16_t mss) noexcept {
    // Branch-free: the number of entries above index 0 that are <= mss.
    const uint16_t* t = f == net::Family::kIpv4 ? kMssTableV4 : kMssTableV6;
    if (mss >= t[kMssTableSize - 1]) return kMssTableSize - 1;  // Ethernet clients: the common case
    uint8_t i = 0;
    for (uint8_t k = 1; k < kMssTableSize; ++k) i = static_cast<uint8_t>(i + (mss >= t[k]));
    return i;
}

uint16_t index_to_mss(net::Family f, uint8_t index) noexcept {
    return (f == net::Family::kIpv4 ? kMssTableV4 : kMssTableV6)[index & 7];
}

void fill_mac_message_v4(const FlowTuple& t, uint32_t word, MacMsgV4& m) noexcept {
    std::memcpy(m.b, t.client_addr, 4);
    std::memcpy(m.b + 4, t.server_addr, 4);
    std::memcpy(m.b + 8, &t.client_port, 2);
    std::memcpy(m.b + 10, &t.server_port, 2);
    std::memcpy(m.b + 12, &word, 4);
}

void fill_mac_message_v6(const FlowTuple& t, uint32_t word, MacMsgV6& m) noexcept {
    std::memcpy(m.b, t.client_addr, 16);
    std::memcpy(m.b + 16, t.server_addr, 16);
    std::memcpy(m.b + 32, &t.client_port, 2);
    std::memcpy(m.b + 34, &t.server_port, 2);
    std::memcpy(m.b + 36, &word, 4);
    std::memset(m.b + 40, 0, 8);
}

void PrfBatch::clear() noexcept {
    ngroups_ = 0;
    jobs_ = 0;
}

int PrfBatch::add_slow(const PrfKey* key, bool v6) noexcept {
    if (jobs_ == kMaxJobs) return -1;
    size_t g = 0;
    while (g < ngroups_ && !(groups_[g].key == key && groups_[g].v6 == v6)) ++g;
    const auto job = static_cast<uint16_t>(jobs_++);
    if (g == ngroups_) {
        if (ngroups_ == kMaxKeys) {
            --jobs_;
            return -1;
        }
        groups_[ngroups_++] = Group{key, v6, 0, job, job};
    } else {
        next_[groups_[g].last] = job;
        groups_[g].last = job;
    }
    ++groups_[g].count;
    return job;
}

int PrfBatch::add_v4(const PrfKey* key, const MacMsgV4& msg) noexcept {
    const int j = add(key, false);
    if (j >= 0) msg4_[j] = msg;
    return j;
}

int PrfBatch::add_v6(const PrfKey* key, const MacMsgV6& msg) noexcept {
    const int j = add(key, true);
    if (j >= 0) msg6_[j] = msg;
    return j;
}

void PrfBatch::run() noexcept {
    if (ngroups_ == 1) {  // the common case: jobs are already contiguous and in order
        if (groups_[0].v6)
            prf_v6(*groups_[0].key, msg6_, out_, jobs_);
        else
            prf_v4(*groups_[0].key, msg4_, out_, jobs_);
        return;
    }
    // Gather each group contiguously, evaluate it in one pipelined call, scatter the results.
    alignas(64) MacMsgV4 g4[kMaxJobs];
    alignas(64) MacMsgV6 g6[kMaxJobs];
    uint32_t r[kMaxJobs];
    uint16_t ids[kMaxJobs];
    for (size_t g = 0; g < ngroups_; ++g) {
        const Group& grp = groups_[g];
        uint16_t j = grp.first;
        for (uint16_t k = 0; k < grp.count; ++k, j = next_[j]) {
            ids[k] = j;
            if (grp.v6)
                g6[k] = msg6_[j];
            else
                g4[k] = msg4_[j];
        }
        if (grp.v6)
            prf_v6(*grp.key, g6, r, grp.count);
        else
            prf_v4(*grp.key, g4, r, grp.count);
        for (uint16_t k = 0; k < grp.count; ++k) out_[ids[k]] = r[k];
    }
}

}  // namespace synwall::cookie
