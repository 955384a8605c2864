// Engine counters, declared once. The list gives the enum, the names (after the kernel's
// /proc/net/netstat TcpExt names where one exists) and the help text used by telemetry.
// Per worker (no sharing); summed on read. Writers use relaxed atomic stores so that a reader on
// another core (telemetry) sees whole values without slowing the owner (plain MOVs on x86).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "net/parse_status.hpp"

namespace synwall::handshake {

// X(enum, name, help)
#define SYNWALL_ENGINE_COUNTERS(X)                                                                   \
    X(kRxPackets, "RxPackets", "frames given to the engine")                                          \
    X(kSynRecv, "SynRecv", "SYNs to a listener")                                                      \
    X(kAcksToListener, "AcksToListener", "ACKs (no SYN, no RST) to a listener, of no established flow") \
    X(kRstsToListener, "RstsToListener", "RSTs (no SYN) to a listener, of no established flow")         \
    X(kSynAckSent, "SynAckSent", "SYN-ACKs sent for half-open (stateful) requests")                   \
    X(kSynAckRetrans, "TCPSynRetrans", "SYN-ACK retransmits from the timer")                          \
    X(kSynAckResent, "SynAckResentDupSyn", "SYN-ACKs resent for a duplicate SYN")                     \
    X(kReqExpired, "ReqExpired", "half-open requests dropped after their last retransmit")           \
    X(kSyncookiesSent, "SyncookiesSent", "SYN cookies sent")                                          \
    X(kSyncookiesRecv, "SyncookiesRecv", "cookie ACKs that validated")                                \
    X(kSyncookiesFailed, "SyncookiesFailed", "cookie ACKs that did not validate")                     \
    X(kReqQFullDoCookies, "TCPReqQFullDoCookies", "SYNs answered with a cookie because the SYN queue was full") \
    X(kReqQFullDrop, "TCPReqQFullDrop", "SYNs dropped because the SYN queue was full and cookies are off") \
    X(kListenOverflows, "ListenOverflows", "accept queue full (SYN or completing ACK dropped)")         \
    X(kListenDrops, "ListenDrops", "SYNs and completing ACKs dropped at a listener, all reasons")     \
    X(kEstablished, "PassiveOpens", "connections moved to an accept queue")                          \
    X(kEstablishedWithData, "EstablishedWithData", "completing ACKs that carried data")              \
    X(kFlowPackets, "FlowPackets", "packets of established flows handed to the application")        \
    X(kServerFlowPackets, "ServerFlowPackets", "of FlowPackets: sent by a protected server (proxied flows)") \
    X(kSynReopenedFlow, "SynReopenedFlow", "SYNs that reopened a closed flow's tuple: FlowPackets, then handled again as new") \
    X(kAcceptRstSent, "TCPAbortOnOverflow", "RSTs sent because the accept queue overflowed")         \
    X(kRstSent, "OutRsts", "RSTs sent for invalid ACKs / SYN-ACKs to a listener")                    \
    X(kChallengeAcks, "TCPChallengeACK", "challenge ACKs sent (RFC 5961)")                            \
    X(kReplyRateLimited, "ReplyRateLimited", "RSTs and challenge ACKs suppressed by the rate limit") \
    X(kAckSkippedSynRecv, "TCPACKSkippedSynRecv", "SYN-ACK resends and ACKs of a request suppressed: one per request per 500 ms") \
    X(kRstReqRemoved, "RstReqRemoved", "RSTs with the exact sequence that removed a half-open request") \
    X(kRstIgnored, "RstIgnored", "RSTs outside the window or to no request")                           \
    X(kDropSynFin, "DropSynFin", "SYN+FIN segments")                                                  \
    X(kDropSynRst, "DropSynRst", "SYN+RST segments")                                                  \
    X(kDropSynAckToListener, "DropSynAckToListener", "SYN-ACKs to a listener")                        \
    X(kDropInvalidAck, "DropInvalidAck", "ACKs to a listener matching no request or cookie")           \
    X(kDropBadAckNumber, "DropBadAckNumber", "ACKs for a request with the wrong acknowledgment number") \
    X(kDropOutOfWindow, "DropOutOfWindow", "segments for a request outside its receive window")      \
    X(kPawsRejected, "PAWSEstabRejected", "segments for a request with a TSval older than its SYN's (PAWS, RFC 7323 §5)") \
    X(kDropNoAckFlag, "DropNoAckFlag", "segments with none of SYN, ACK, RST to a listener")          \
    X(kDropFlowTableFull, "DropFlowTableFull", "completing ACKs dropped: established-flow index full") \
    X(kDropReplyTooBig, "DropReplyTooBig", "replies that did not fit the buffer")                    \
    X(kRetransNoBuffer, "RetransNoBuffer", "SYN-ACK retransmits skipped: no buffer")                  \
    X(kRetransNoL2, "RetransNoL2", "SYN-ACK retransmits skipped: L2 header not cached")              \
    X(kPassNoListener, "PassNoListener", "TCP segments to no listener (bridged)")

enum Counter : uint16_t {
#define SYNWALL_X(e, name, help) e,
    SYNWALL_ENGINE_COUNTERS(SYNWALL_X)
#undef SYNWALL_X
    kEngineCounterCount,
    kParseBase = kEngineCounterCount,  // followed by one counter per net::ParseStatus
    kCounterCount = kParseBase + net::kParseStatusCount,
};

// What happened to each frame, as a partition (docs/handshake.md, "Counters"): RxPackets is the sum
// of the parse outcomes (ParsedTcp and one counter per other net::ParseStatus), and every parsed
// TCP segment (ParsedTcp) counts in exactly one of kSegmentOutcomes, except a SYN that reopened a
// closed flow's tuple (SynReopenedFlow), which counts twice: FlowPackets, then its outcome as new. The other counters are
// reasons and results within these (SyncookiesFailed within AcksToListener's DropInvalidAck, ...).
inline constexpr Counter kSegmentOutcomes[] = {
    kPassNoListener, kFlowPackets,  kDropNoAckFlag,  kDropSynRst,     kDropSynFin,
    kDropSynAckToListener, kSynRecv, kAcksToListener, kRstsToListener,
};

std::string_view counter_name(uint32_t c) noexcept;
std::string_view counter_help(uint32_t c) noexcept;

// One figure of one owner thread that other threads read while it runs (the I/O, generator,
// client and responder statistics): the owner adds with a relaxed atomic store, readers load.
inline void stat_add(uint64_t& f, uint64_t n) noexcept {
    std::atomic_ref<uint64_t>(f).store(f + n, std::memory_order_relaxed);
}
inline void stat_set(uint64_t& f, uint64_t v) noexcept { std::atomic_ref<uint64_t>(f).store(v, std::memory_order_relaxed); }
inline uint64_t stat_load(const uint64_t& f) noexcept {
    return std::atomic_ref<const uint64_t>(f).load(std::memory_order_relaxed);
}

// N counters of one owner thread (the applications' counter lists use it too).
template <size_t N>
struct alignas(64) CounterBlock {
    std::array<uint64_t, N> v{};

    void add(uint32_t c, uint64_t n = 1) noexcept {
        std::atomic_ref<uint64_t>(v[c]).store(v[c] + n, std::memory_order_relaxed);
    }
    uint64_t get(uint32_t c) const noexcept {
        return std::atomic_ref<const uint64_t>(v[c]).load(std::memory_order_relaxed);
    }
    uint64_t operator[](uint32_t c) const noexcept { return get(c); }
    void accumulate(const CounterBlock& o) noexcept {
        for (uint32_t i = 0; i < N; ++i) v[i] += o.get(i);
    }
};

struct Counters : CounterBlock<kCounterCount> {};

inline uint32_t parse_counter(net::ParseStatus s) noexcept {
    return kParseBase + static_cast<uint32_t>(s);
}

// Whether `c` keeps the partition of kSegmentOutcomes (checked by the tests and the fuzzer).
bool partition_holds(const Counters& c) noexcept;

}  // namespace synwall::handshake
