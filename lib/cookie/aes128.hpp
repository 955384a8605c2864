// AES-128 encryption with AES-NI (one block at a time or eight in flight) and VAES (sixteen
// blocks in flight, on AVX-512 or on AVX2 registers). Only encryption is needed: synwall uses AES as a PRF, never decrypts.
//
// Every function here requires the CPU feature its name says; callers check aes_ni_available() /
// vaes_available() first (Prf::select does). Compiled with function-level target attributes so that
// one binary runs on any x86-64 and still uses what the CPU has.
#pragma once

#include <cstddef>
#include <cstdint>

namespace synwall::cookie {

struct alignas(16) Aes128Key {
    uint8_t round_keys[11][16];
};

bool aes_ni_available() noexcept;
bool vaes_available() noexcept;         // VAES on 256-bit registers (AVX2)
bool vaes_avx512_available() noexcept;  // and on 512-bit ones (AVX-512F)

// FIPS-197 §5.2 key expansion.
void aes128_expand_key(const uint8_t key[16], Aes128Key& out) noexcept;

// ECB encryption of `n` independent 16-byte blocks (in and out may alias).
void aes128_encrypt_aesni(const Aes128Key& key, const uint8_t* in, uint8_t* out, size_t n) noexcept;
// VAES: sixteen blocks in flight, in four zmm registers where the CPU has AVX-512, else in eight
// ymm registers (CPUs with VAES but without AVX-512); the same function either way.
void aes128_encrypt_vaes(const Aes128Key& key, const uint8_t* in, uint8_t* out, size_t n) noexcept;
void aes128_encrypt_vaes512(const Aes128Key& key, const uint8_t* in, uint8_t* out, size_t n) noexcept;
void aes128_encrypt_vaes256(const Aes128Key& key, const uint8_t* in, uint8_t* out, size_t n) noexcept;

// CBC-MAC over fixed-length messages of `blocks` 16-byte blocks each, zero IV, for `n` messages
// laid out back to back; writes one 16-byte tag per message. Fixed-length CBC-MAC is a PRF.
void aes128_cbcmac_aesni(const Aes128Key& key, const uint8_t* msgs, size_t blocks, uint8_t* tags,
                         size_t n) noexcept;

}  // namespace synwall::cookie
