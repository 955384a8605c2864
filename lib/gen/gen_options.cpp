#include "gen/gen_options.hpp"

#include "config/output_file.hpp"

#include <cstdio>
#include <cstdlib>

namespace synwall::gen {

std::string gen_usage() {
    return "usage: synwall-gen [EAL options] -- --port DEV [--dst ADDR] [--dport P]\n"
           "         [--flood MIX|off] [--rate PPS|max] [--flood-src PREFIX] [--options linux|mss|none|mixed]\n"
           "         [--flood-replies drop|nearmiss] [--clients N] [--client-src PREFIX] [--client-close rst|fin]\n"
           "         [--client-ports N] [--client-rto-ms MS] [--client-retries N] [--client-data BYTES|http]\n"
           "         [--duration S] [--flood-count N] [--stats-period S]"
           " [--json FILE] [--burst N] [--seed S] [--linger S] [--src-mac MAC] [--dst-mac MAC]\n"
           "         [--respond DEV] [--respond-bytes N]\n"
           "  --respond DEV: on a second port, a stateless server answers SYNs, data and FINs (the servers\n"
           "                 behind a proxy under test); --respond-bytes: response bytes per data segment\n"
           "  --flood-count N: stop once N flood frames are out (at most --duration; a few ms of frames over)\n"
           "  MIX: syn=70,ack=20,rst=10,synack=0,frag=0 (default syn)\n"
           "  -h, --help: this text; --help-eal: DPDK's EAL options; --version: the version";
}

namespace {

bool mac(const std::string& v, std::array<uint8_t, 6>& out) {
    unsigned b[6];
    char tail;
    if (std::sscanf(v.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
        return false;
    for (int i = 0; i < 6; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(b[i]);
    return true;
}

bool number(const std::string& v, double lo, double hi, double& out) {
    char* end = nullptr;
    out = std::strtod(v.c_str(), &end);
    return !v.empty() && *end == '\0' && out >= lo && out <= hi;
}

}  // namespace

std::optional<GenOptions> parse_gen_options(const std::vector<std::string>& args, std::string& error) {
    GenOptions o;
    o.clients.ports_per_client = 8;
    std::string dst, flood_src, client_src, mix = "syn";
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) != 0) {
            error = a + ": unexpected argument";
            return std::nullopt;
        }
        if (i + 1 >= args.size()) {
            error = a + ": missing value";
            return std::nullopt;
        }
        const std::string& v = args[++i];
        double d = 0;
        auto bad = [&](const std::string& why) {
            error = a + ": " + why;
            return std::nullopt;
        };
        if (a == "--port") o.port = v;
        else if (a == "--dst") dst = v;
        else if (a == "--dport") {
            if (!number(v, 1, 65535, d)) return bad("'" + v + "' is not a port 1..65535");
            o.flood.dport = o.clients.dport = static_cast<uint16_t>(d);
        } else if (a == "--flood") {
            if (v == "off") o.flood_on = false;
            else mix = v;
        } else if (a == "--rate") {
            if (v == "max") o.flood_pps = 0;
            else if (number(v, 1, 1e10, d)) o.flood_pps = static_cast<uint64_t>(d);
            else return bad("'" + v + "' is not a rate in packets per second (or max)");
        } else if (a == "--flood-src") flood_src = v;
        else if (a == "--options") {
            if (!parse_option_set(v, o.flood.options)) return bad("'" + v + "' is not linux, mss, none or mixed");
        } else if (a == "--flood-replies") {
            if (v == "drop") o.flood_replies = FloodReplies::kDrop;
            else if (v == "nearmiss") o.flood_replies = FloodReplies::kNearMissAck;
            else return bad("'" + v + "' is not drop or nearmiss");
        } else if (a == "--clients") {
            if (!number(v, 0, 1'000'000, d)) return bad("'" + v + "' is not a count 0..1000000");
            o.clients.clients = static_cast<uint32_t>(d);
        } else if (a == "--client-src") client_src = v;
        else if (a == "--client-ports") {
            if (!number(v, 1, 64, d)) return bad("'" + v + "' is not 1..64");
            o.clients.ports_per_client = static_cast<uint8_t>(d);
        }
        else if (a == "--client-close") {
            if (v == "rst") o.clients.close = ClientClose::kRst;
            else if (v == "fin") o.clients.close = ClientClose::kFin;
            else return bad("'" + v + "' is not rst or fin");
        } else if (a == "--client-rto-ms") {
            if (!number(v, 1, 60'000, d)) return bad("'" + v + "' is not 1..60000 ms");
            o.clients.rto_ns = static_cast<uint64_t>(d * 1e6);
        } else if (a == "--client-data") {
            if (v == "http") {
                const std::string req = "GET / HTTP/1.1\r\nHost: synwall\r\nUser-Agent: synwall-gen\r\n\r\n";
                o.clients.first_data.assign(req.begin(), req.end());
            } else if (v.find_first_not_of("0123456789") == std::string::npos && number(v, 0, kMaxClientData, d)) {
                o.clients.first_data.assign(static_cast<size_t>(d), 'x');
            } else {
                return bad("'" + v + "' is neither 'http' nor a byte count 0.." + std::to_string(kMaxClientData));
            }
        } else if (a == "--client-retries") {
            if (!number(v, 0, 10, d)) return bad("'" + v + "' is not 0..10");
            o.clients.max_retries = static_cast<uint8_t>(d);
        } else if (a == "--duration") {
            if (!number(v, 0, 1e6, d)) return bad("'" + v + "' is not a number of seconds");
            o.duration_s = d;
        } else if (a == "--flood-count") {
            if (v.find_first_not_of("0123456789") != std::string::npos || !number(v, 1, 1e15, d))
                return bad("'" + v + "' is not a frame count");
            o.flood_count = static_cast<uint64_t>(d);
        } else if (a == "--stats-period") {
            if (!number(v, 0.01, 3600, d)) return bad("'" + v + "' is not 0.01..3600 seconds");
            o.stats_period_s = d;
        } else if (a == "--linger") {
            if (!number(v, 0, 60, d)) return bad("'" + v + "' is not 0..60 seconds");
            o.linger_s = d;
        } else if (a == "--dst-mac" || a == "--src-mac") {
            std::array<uint8_t, 6> m{};
            if (!mac(v, m)) return bad("'" + v + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
            (a == "--dst-mac" ? o.flood.dst_mac : o.flood.src_mac) = m;
            (a == "--dst-mac" ? o.clients.syn.dst_mac : o.clients.syn.src_mac) = m;
        } else if (a == "--respond") {
            o.respond_port = v;
        } else if (a == "--respond-bytes") {
            if (!number(v, 0, 1460, d)) return bad("'" + v + "' is not 0..1460");
            o.respond_bytes = static_cast<uint16_t>(d);
        } else if (a == "--json") {
            if (const std::string why = config::check_writable(v); !why.empty()) return bad(why);
            o.json = v;
        }
        else if (a == "--burst") {
            if (!number(v, 1, 512, d)) return bad("'" + v + "' is not 1..512");
            o.burst = static_cast<uint16_t>(d);
        } else if (a == "--seed") {
            if (!number(v, 0, 1.8e19, d)) return bad("'" + v + "' is not a seed");
            o.seed = static_cast<uint64_t>(d);
        } else {
            error = a + ": unknown option";
            return std::nullopt;
        }
    }
    if (o.port.empty()) {
        error = "--port: required (a vdev spec such as net_memif0,role=client,socket=/run/synwall.sock)";
        return std::nullopt;
    }
    net::Family fam = net::Family::kIpv4;
    std::array<uint8_t, 16> daddr{};
    if (dst.empty()) dst = "203.0.113.10";
    if (!parse_address(dst, fam, daddr)) {
        error = "--dst: '" + dst + "' is not an IPv4 or IPv6 address";
        return std::nullopt;
    }
    const bool v4 = fam == net::Family::kIpv4;
    if (flood_src.empty()) flood_src = v4 ? "198.18.0.0/15" : "2001:db8:ffff::/48";
    if (client_src.empty()) client_src = v4 ? "10.99.0.0/16" : "fd00:99::/64";
    if (!parse_range(flood_src, o.flood.src, error)) {
        error = "--flood-src: " + error;
        return std::nullopt;
    }
    if (!parse_range(client_src, o.clients.src, error)) {
        error = "--client-src: " + error;
        return std::nullopt;
    }
    if (o.flood.src.family != fam || o.clients.src.family != fam) {
        error = "--flood-src/--client-src: the family differs from --dst " + dst;
        return std::nullopt;
    }
    // Addresses needed, rounded up (size() * ports_per_addr could overflow for a /64).
    const uint64_t slots = uint64_t{o.clients.clients} * o.clients.ports_per_client;
    const uint64_t addrs = (slots + o.clients.ports_per_addr - 1) / o.clients.ports_per_addr;
    if (addrs > o.clients.src.size()) {
        error = "--clients: " + std::to_string(o.clients.clients) + " clients do not fit in --client-src " + client_src;
        return std::nullopt;
    }
    if (o.flood_on && !parse_mix(mix, o.flood.weights, error)) {
        error = "--flood: " + error;
        return std::nullopt;
    }
    if (!o.flood_on && o.clients.clients == 0) {
        error = "--flood: off and no --clients: nothing to send";
        return std::nullopt;
    }
    o.flood.dst = o.clients.dst = daddr;
    o.clients.syn.family = fam;
    return o;
}

}  // namespace synwall::gen
