#include "cookie/secret_schedule.hpp"

#include <sys/random.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace synwall::cookie {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// 16 bytes = SipHash(master, label | tag | epoch | 0) || SipHash(master, ... | 1)
void derive_bytes(const MasterKey& master, uint8_t tag, uint64_t epoch, uint8_t out[16]) {
    const SipKey k = SipKey::from_bytes(master.data());
    uint8_t msg[24] = {'s', 'y', 'n', 'w', 'a', 'l', 'l', '-', 'c', 'o', 'o', 'k', 'i', 'e'};
    msg[14] = tag;
    std::memcpy(msg + 16, &epoch, 8);
    for (uint8_t half = 0; half < 2; ++half) {
        msg[15] = half;
        const uint64_t h = siphash24(k, msg, sizeof msg);
        std::memcpy(out + 8 * half, &h, 8);
    }
}

}  // namespace

bool parse_master_key(std::string_view text, MasterKey& out, std::string& error) {
    size_t nibbles = 0;
    MasterKey key{};
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        const int v = hex_value(c);
        if (v < 0) {
            error = "key must be hexadecimal digits only";
            return false;
        }
        if (nibbles == 32) {
            error = "key longer than 32 hexadecimal digits (128 bits)";
            return false;
        }
        key[nibbles / 2] = static_cast<uint8_t>(key[nibbles / 2] | (v << (nibbles % 2 ? 0 : 4)));
        ++nibbles;
    }
    if (nibbles != 32) {
        error = "key must be exactly 32 hexadecimal digits (128 bits), found " + std::to_string(nibbles);
        return false;
    }
    out = key;
    return true;
}

bool load_master_key(const std::string& path, MasterKey& out, std::string& error) {
    std::ifstream f(path);
    if (!f) {
        error = "cannot open key file";
        return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    return parse_master_key(ss.str(), out, error);
}

MasterKey random_master_key() {
    MasterKey k{};
    size_t got = 0;
    while (got < k.size()) {
        const ssize_t r = getrandom(k.data() + got, k.size() - got, 0);
        if (r > 0) got += static_cast<size_t>(r);
    }
    return k;
}

std::string validate(const SecretConfig& c) {
    if (c.counter_period_s == 0) return "counter period must be at least 1 s";
    if (c.rotation_period_s < c.counter_period_s || c.rotation_period_s % c.counter_period_s != 0)
        return "rotation period must be a positive multiple of the counter period";
    if (!prf_available(c.prf)) return std::string("PRF '") + std::string(to_string(c.prf)) + "' not supported by this CPU";
    return {};
}

namespace {
const SecretConfig& checked(const SecretConfig& c) {
    if (const std::string e = validate(c); !e.empty()) throw std::invalid_argument("cookie secrets: " + e);
    return c;
}
}  // namespace

SecretSchedule::SecretSchedule(const SecretConfig& config)
    : config_(checked(config)), periods_per_epoch_(config.rotation_period_s / config.counter_period_s) {
    uint8_t isn[16];
    derive_bytes(config_.master, 'i', 0, isn);
    isn_key_ = PrfKey(config_.prf, isn);
}

SecretSchedule::EpochKeys SecretSchedule::derive(uint64_t epoch) const noexcept {
    EpochKeys k;
    k.epoch = epoch;
    uint8_t b[16];
    derive_bytes(config_.master, '4', epoch, b);
    k.v4 = PrfKey(config_.prf, b);
    derive_bytes(config_.master, '6', epoch, b);
    k.v6 = PrfKey(config_.prf, b);
    return k;
}

void SecretSchedule::advance(uint64_t now_s) noexcept {
    const uint32_t c = counter(now_s);
    if (c == now_counter_ && now_valid_) return;
    const uint64_t e = epoch_of_counter(c);
    if (e != current_.epoch) {
        if (current_.epoch != ~uint64_t{0} && e == current_.epoch + 1)
            previous_ = current_;
        else
            previous_ = e > 0 ? derive(e - 1) : EpochKeys{};
        current_ = derive(e);
    }
    now_counter_ = c;
    now_valid_ = true;
    const uint64_t pe = epoch_of_counter(c - 1);
    prev_counter_slot_ = pe == current_.epoch ? 0 : pe == previous_.epoch ? 1 : 2;
}

}  // namespace synwall::cookie
