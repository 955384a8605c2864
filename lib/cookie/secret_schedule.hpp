// The cookie secret schedule: which key signs a cookie minted at a given time.
//
// Time is cut into counter periods (`counter_period_s`, 64 s by default, as the kernel's
// MAX_SYNCOOKIE_AGE granularity); every `rotation_period_s` (a multiple of it) a new epoch key
// takes over. Keys are derived from one 128-bit master key:
//     epoch_key(e, tag) = SipHash-2-4(master, m(0)) || SipHash-2-4(master, m(1))   (8 + 8 bytes)
//     m(half) = "synwall-cookie" (14 bytes) | tag (1 byte: '4', '6' or 'i' for the ISN key) |
//               half (1 byte) | e (8 bytes, little-endian)
// so every worker and every appliance holding the same master (a key file) agrees on every epoch
// key without talking. Without a key file the master is drawn from getrandom() at start-up.
// A schedule keeps the current and previous epoch's keys: a cookie is valid for two counter
// periods, which may straddle a rotation.
//
// Threading: one schedule per worker (share nothing); advance() from the owning thread only.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "cookie/prf.hpp"
#include "net/parser.hpp"

namespace synwall::cookie {

using MasterKey = std::array<uint8_t, 16>;

struct SecretConfig {
    uint32_t counter_period_s = 64;
    uint32_t rotation_period_s = 3840;  // 60 counter periods
    MasterKey master{};
    PrfKind prf = PrfKind::kSipHash;
};

// Reads a key file: 32 hexadecimal digits (whitespace and a trailing newline ignored).
// Returns false and fills `error` with the reason otherwise.
bool load_master_key(const std::string& path, MasterKey& out, std::string& error);
bool parse_master_key(std::string_view text, MasterKey& out, std::string& error);
MasterKey random_master_key();

// Checks a SecretConfig; empty string when it is valid.
std::string validate(const SecretConfig& c);

class SecretSchedule {
public:
    struct EpochKeys {
        uint64_t epoch = ~uint64_t{0};
        PrfKey v4, v6;
    };

    // Throws std::invalid_argument unless validate(config) is empty.
    explicit SecretSchedule(const SecretConfig& config);

    // Makes the keys for now_s's epoch and the one before it current. Cheap when nothing changed.
    void advance(uint64_t now_s) noexcept;
    // The counter at the last advance().
    uint32_t now_counter() const noexcept { return now_counter_; }

    uint32_t counter(uint64_t now_s) const noexcept {
        return static_cast<uint32_t>(now_s / config_.counter_period_s);
    }
    uint64_t epoch_of_counter(uint32_t counter) const noexcept { return counter / periods_per_epoch_; }

    // Keys for the epoch holding `counter`, or nullptr if that epoch is neither current nor previous.
    // The counters of the last advance() and the one before it are answered without a division.
    const EpochKeys* keys_for_counter(uint32_t counter) const noexcept {
        if (counter == now_counter_ && now_valid_) return &current_;
        if (counter == now_counter_ - 1 && now_valid_)
            return prev_counter_slot_ == 0 ? &current_ : prev_counter_slot_ == 1 ? &previous_ : nullptr;
        const uint64_t e = epoch_of_counter(counter);
        if (e == current_.epoch) return &current_;
        if (e == previous_.epoch) return &previous_;
        return nullptr;
    }

    // The RFC 6528 ISN key (does not rotate: ISNs must stay monotonic per 4-tuple).
    const PrfKey& isn_key() const noexcept { return isn_key_; }
    const SecretConfig& config() const noexcept { return config_; }

private:
    EpochKeys derive(uint64_t epoch) const noexcept;

    SecretConfig config_;
    uint32_t periods_per_epoch_;
    EpochKeys current_, previous_;
    uint32_t now_counter_ = 0;
    bool now_valid_ = false;          // now_counter_ is set (its keys are current_)
    uint8_t prev_counter_slot_ = 2;   // keys of now_counter_ - 1: 0 current_, 1 previous_, 2 none
    PrfKey isn_key_;
};

}  // namespace synwall::cookie
