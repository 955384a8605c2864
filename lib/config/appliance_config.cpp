#include "config/appliance_config.hpp"

#include "handshake/listener_table.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

namespace synwall::config {
namespace {

// Reads one table, remembering the file and the key path for error messages.
class Reader {
public:
    Reader(const toml::table& t, std::string file, std::string prefix, std::string& error)
        : t_(t), file_(std::move(file)), prefix_(std::move(prefix)), error_(error) {}

    bool ok() const { return error_.empty(); }
    bool fail(std::string_view key, const std::string& why) {
        if (error_.empty()) error_ = file_ + ": " + full(key) + ": " + why;
        return false;
    }
    std::string full(std::string_view key) const {
        if (key.empty()) return prefix_;
        return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
    }

    bool only(std::initializer_list<std::string_view> allowed) {
        for (const auto& [k, v] : t_) {
            (void)v;
            if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end())
                return fail(k.str(), "unknown key");
        }
        return true;
    }

    template <class T>
    bool integer(std::string_view key, T& out, int64_t min, int64_t max) {
        const toml::node* n = t_.get(key);
        if (!n) return true;  // keep the default
        const auto v = n->value<int64_t>();
        if (!n->is_integer() || !v) return fail(key, "must be an integer");
        if (*v < min || *v > max)
            return fail(key, std::to_string(*v) + " out of range " + std::to_string(min) + ".." + std::to_string(max));
        out = static_cast<T>(*v);
        return true;
    }
    bool boolean(std::string_view key, bool& out) {
        const toml::node* n = t_.get(key);
        if (!n) return true;
        if (!n->is_boolean()) return fail(key, "must be true or false");
        out = *n->value<bool>();
        return true;
    }
    bool string(std::string_view key, std::string& out, bool required = false) {
        const toml::node* n = t_.get(key);
        if (!n) return required ? fail(key, "missing") : true;
        if (!n->is_string()) return fail(key, "must be a string");
        out = *n->value<std::string>();
        return true;
    }
    template <class E>
    bool choice(std::string_view key, E& out, std::initializer_list<std::pair<std::string_view, E>> options) {
        std::string s;
        if (!t_.get(key)) return true;
        if (!string(key, s)) return false;
        for (const auto& [name, value] : options)
            if (s == name) {
                out = value;
                return true;
            }
        std::string list;
        for (const auto& [name, value] : options) {
            if (!list.empty()) list += '|';
            list += name;
        }
        return fail(key, "'" + s + "' is not one of " + list);
    }
    bool uints(std::string_view key, std::vector<unsigned>& out, unsigned max) {
        const toml::node* n = t_.get(key);
        if (!n) return true;
        const toml::array* a = n->as_array();
        if (!a) return fail(key, "must be an array of integers");
        out.clear();
        for (const auto& e : *a) {
            const auto v = e.value<int64_t>();
            if (!e.is_integer() || !v || *v < 0 || *v > max) return fail(key, "entries must be integers 0.." + std::to_string(max));
            out.push_back(static_cast<unsigned>(*v));
        }
        return true;
    }

private:
    const toml::table& t_;
    std::string file_;
    std::string prefix_;
    std::string& error_;
};

const toml::table* subtable(const toml::table& root, std::string_view key, const std::string& file, std::string& error) {
    const toml::node* n = root.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
        error = file + ": " + std::string(key) + ": must be a table";
        return nullptr;
    }
    return n->as_table();
}

std::optional<toml::table> parse_toml(std::string_view text, const std::string& path, std::string& error) {
    try {
        return toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        std::ostringstream os;
        os << path << ": line " << e.source().begin.line << ": " << e.description();
        error = os.str();
        return std::nullopt;
    }
}

bool read_file(const std::string& path, std::string& text, std::string& error) {
    std::ifstream f(path);
    if (!f) {
        error = path + ": cannot open file";
        return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
    return true;
}

}  // namespace

bool parse_prefix(std::string_view text, handshake::ListenerConfig& out, std::string& error) {
    const std::string s(text);
    const auto slash = s.find('/');
    const std::string addr = s.substr(0, slash);
    int len = -1;
    if (slash != std::string::npos) {
        const std::string l = s.substr(slash + 1);
        if (l.empty() || l.size() > 3 || !std::all_of(l.begin(), l.end(), ::isdigit)) {
            error = "bad prefix length in '" + s + "'";
            return false;
        }
        len = std::stoi(l);
    }
    std::array<uint8_t, 16> a{};
    if (inet_pton(AF_INET, addr.c_str(), a.data()) == 1) {
        out.family = net::Family::kIpv4;
        if (len < 0) len = 32;
        if (len > 32) {
            error = "prefix length above 32 in '" + s + "'";
            return false;
        }
    } else if (inet_pton(AF_INET6, addr.c_str(), a.data()) == 1) {
        out.family = net::Family::kIpv6;
        if (len < 0) len = 128;
        if (len > 128) {
            error = "prefix length above 128 in '" + s + "'";
            return false;
        }
    } else {
        error = "'" + s + "' is not an IPv4 or IPv6 address or prefix";
        return false;
    }
    out.addr = a;
    out.prefix_len = static_cast<uint8_t>(len);
    return true;
}

std::optional<ApplianceConfig> parse_appliance_config(std::string_view text, const std::string& path, std::string& error) {
    error.clear();
    auto root = parse_toml(text, path, error);
    if (!root) return std::nullopt;
    ApplianceConfig c;
    c.path = path;
    Reader top(*root, path, "", error);
    if (!top.only({"engine", "cookie", "port", "listener", "lcores", "application"})) return std::nullopt;

    if (const auto* t = subtable(*root, "engine", path, error)) {
        Reader r(*t, path, "engine", error);
        uint64_t rto_ms = c.engine.synack_rto_ns / 1'000'000;
        r.only({"half_open_capacity", "established_capacity", "burst", "timer_budget", "synack_rto_ms", "ttl",
                "reply_rate", "reply_burst", "invalid_ratelimit_ms", "l2_cache_entries", "max_listeners", "fast_path"}) &&
            r.integer("half_open_capacity", c.engine.half_open_capacity, 1, 1 << 30) &&
            r.integer("established_capacity", c.engine.established_capacity, 1, 1 << 30) &&
            r.integer("burst", c.burst, 1, handshake::kMaxBurst) &&
            r.integer("timer_budget", c.engine.timer_budget, 1, 1 << 20) &&
            r.integer("synack_rto_ms", rto_ms, 1, 60'000) && r.integer("ttl", c.engine.ttl, 1, 255) &&
            r.integer("reply_rate", c.engine.reply_rate_per_s, 0, 10'000'000) &&
            r.integer("reply_burst", c.engine.reply_burst, 0, 10'000'000) &&
            r.integer("invalid_ratelimit_ms", c.engine.invalid_ratelimit_ms, 0, 60'000) &&
            r.integer("l2_cache_entries", c.engine.l2_cache_entries, 1, 65535) &&
            r.integer("max_listeners", c.engine.max_listeners, 1, 65535) &&
            r.boolean("fast_path", c.engine.fast_path);
        c.engine.synack_rto_ns = rto_ms * 1'000'000;
    }
    if (!error.empty()) return std::nullopt;

    if (const auto* t = subtable(*root, "cookie", path, error)) {
        Reader r(*t, path, "cookie", error);
        std::string prf = "auto";
        r.only({"prf", "key_file", "counter_period", "rotation_period"}) && r.string("prf", prf) &&
            r.string("key_file", c.key_file) && r.integer("counter_period", c.secrets.counter_period_s, 1, 86400) &&
            r.integer("rotation_period", c.secrets.rotation_period_s, 1, 365 * 86400);
        if (r.ok() && prf != "auto") {
            c.prf = cookie::prf_kind_from_string(prf);
            if (!c.prf) r.fail("prf", "'" + prf + "' is not one of auto|vaes|aesni|siphash");
        }
        if (r.ok() && (c.secrets.rotation_period_s % c.secrets.counter_period_s) != 0)
            r.fail("rotation_period", "must be a multiple of counter_period");
    }
    if (!error.empty()) return std::nullopt;

    if (const toml::node* n = root->get("port")) {
        const toml::array* a = n->as_array();
        if (!a || !a->is_array_of_tables()) {
            error = path + ": port: must be an array of tables ([[port]])";
            return std::nullopt;
        }
        for (size_t i = 0; i < a->size(); ++i) {
            Reader r(*a->get(i)->as_table(), path, "port[" + std::to_string(i) + "]", error);
            PortConfig p;
            r.only({"name", "device", "profile", "peer"}) && r.string("name", p.name) && r.string("device", p.device, true) &&
                r.string("profile", p.profile, true) && r.string("peer", p.peer);
            if (!r.ok()) return std::nullopt;
            if (p.name.empty()) p.name = "port" + std::to_string(i);
            c.ports.push_back(p);
        }
    }
    if (c.ports.empty()) {
        error = path + ": port: at least one [[port]] is required";
        return std::nullopt;
    }
    // Bridging: explicit peers by name; two ports and none given: each other (the inline box).
    bool any_peer = false;
    for (size_t i = 0; i < c.ports.size(); ++i) {
        if (c.ports[i].peer.empty()) continue;
        any_peer = true;
        for (size_t j = 0; j < c.ports.size(); ++j)
            if (j != i && c.ports[j].name == c.ports[i].peer) c.ports[i].peer_index = static_cast<int>(j);
        if (c.ports[i].peer_index < 0) {
            error = path + ": port[" + std::to_string(i) + "].peer: no other port is named '" + c.ports[i].peer + "'";
            return std::nullopt;
        }
    }
    if (!any_peer && c.ports.size() == 2) {
        c.ports[0].peer_index = 1;
        c.ports[1].peer_index = 0;
    }

    if (const toml::node* n = root->get("listener")) {
        const toml::array* a = n->as_array();
        if (!a || !a->is_array_of_tables()) {
            error = path + ": listener: must be an array of tables ([[listener]])";
            return std::nullopt;
        }
        for (size_t i = 0; i < a->size(); ++i) {
            Reader r(*a->get(i)->as_table(), path, "listener[" + std::to_string(i) + "]", error);
            handshake::ListenerConfig l;
            std::string address;
            r.only({"name", "address", "port", "backlog", "max_half_open", "cookie_mode", "mss", "synack_retries",
                    "abort_on_overflow", "rst_on_invalid_ack", "window_scaling", "wscale", "sack", "timestamps", "ecn",
                    "window"}) &&
                r.string("name", l.name) && r.string("address", address, true) && r.integer("port", l.port, 1, 65535) &&
                r.integer("backlog", l.backlog, 1, 1 << 24) && r.integer("max_half_open", l.max_half_open, 1, 1 << 30) &&
                r.choice("cookie_mode", l.cookie_mode,
                         {{"never", handshake::CookieMode::kNever}, {"auto", handshake::CookieMode::kAuto},
                          {"always", handshake::CookieMode::kAlways}}) &&
                r.integer("mss", l.mss, 536, 9000) && r.integer("synack_retries", l.synack_retries, 0, 15) &&
                r.boolean("abort_on_overflow", l.abort_on_overflow) && r.boolean("rst_on_invalid_ack", l.rst_on_invalid_ack) &&
                r.boolean("window_scaling", l.window_scaling) && r.integer("wscale", l.wscale, 0, 14) &&
                r.boolean("sack", l.sack) && r.boolean("timestamps", l.timestamps) && r.boolean("ecn", l.ecn) &&
                r.integer("window", l.window, 1, 65535);
            if (!r.ok()) return std::nullopt;
            if (!a->get(i)->as_table()->get("port")) return r.fail("port", "missing"), std::nullopt;
            std::string why;
            if (!parse_prefix(address, l, why)) return r.fail("address", why), std::nullopt;
            if (l.family == net::Family::kIpv6 && !a->get(i)->as_table()->get("mss")) l.mss = 1440;
            if (const std::string v = handshake::validate(l); !v.empty()) return r.fail("", v), std::nullopt;
            if (l.name.empty()) l.name = "listener" + std::to_string(i);
            // Like a second bind(2) to the same address and port: refused, never silently shadowed.
            for (size_t j = 0; j < c.listeners.size(); ++j) {
                if (handshake::same_endpoint(l, c.listeners[j]))
                    return r.fail("address", "'" + address + "' port " + std::to_string(l.port) + " is already listener[" +
                                                 std::to_string(j) + "] ('" + c.listeners[j].name + "')"),
                           std::nullopt;
                if (l.name == c.listeners[j].name)
                    return r.fail("name", "'" + l.name + "' is already listener[" + std::to_string(j) + "]'s name"),
                           std::nullopt;
            }
            c.listeners.push_back(l);
        }
    }
    if (c.listeners.empty()) {
        error = path + ": listener: at least one [[listener]] is required";
        return std::nullopt;
    }

    if (const auto* t = subtable(*root, "lcores", path, error)) {
        Reader r(*t, path, "lcores", error);
        r.only({"workers", "apps"}) && r.uints("workers", c.worker_lcores, 1023) && r.uints("apps", c.app_lcores, 1023);
    }
    if (!error.empty()) return std::nullopt;

    if (const auto* t = subtable(*root, "application", path, error)) {
        Reader r(*t, path, "application", error);
        ProxySettings& x = c.proxy;
        uint32_t flow_capacity = 0;
        r.only({"kind", "close", "grace_ms", "server_port", "server_syn_retries", "server_syn_timeout_ms",
                "idle_timeout_s", "hold_bytes", "flow_capacity"}) &&
            r.choice("kind", c.app, {{"absorb", AppKind::kAbsorb}, {"proxy", AppKind::kProxy}}) &&
            r.choice("close", c.close_with, {{"rst", CloseWith::kRst}, {"fin", CloseWith::kFin}}) &&
            r.integer("grace_ms", c.grace_ms, 0, 600'000) && r.string("server_port", x.server_port) &&
            r.integer("server_syn_retries", x.server_syn_retries, 0, 10) &&
            r.integer("server_syn_timeout_ms", x.server_syn_timeout_ms, 10, 60'000) &&
            r.integer("idle_timeout_s", x.idle_timeout_s, 1, 86'400) && r.integer("hold_bytes", x.hold_bytes, 0, 1 << 24) &&
            r.integer("flow_capacity", flow_capacity, 1, 1 << 26);
        if (error.empty() && c.app == AppKind::kProxy) {
            const std::string key = path + ": application.";
            if (x.server_port.empty()) error = key + "server_port: missing (the name of the port the servers sit behind)";
            for (size_t i = 0; i < c.ports.size(); ++i)
                if (c.ports[i].name == x.server_port) x.server_port_index = static_cast<int>(i);
            if (error.empty() && x.server_port_index < 0)
                error = key + "server_port: no port is named '" + x.server_port + "'";
            if (error.empty() && c.ports.size() < 2) error = key + "kind: the proxy needs two ports (clients, servers)";
        }
        if (error.empty() && flow_capacity) {
            if (t->get("flow_capacity") && root->at_path("engine.established_capacity") &&
                flow_capacity != c.engine.established_capacity)
                error = path + ": application.flow_capacity: differs from engine.established_capacity (give one)";
            c.engine.established_capacity = flow_capacity;
        }
    }
    if (!error.empty()) return std::nullopt;

    if (const std::string v = handshake::validate(c.engine); !v.empty()) {
        error = path + ": engine." + v;
        return std::nullopt;
    }
    return c;
}

std::optional<ApplianceConfig> load_appliance_config(const std::string& path, std::string& error) {
    std::string text;
    if (!read_file(path, text, error)) return std::nullopt;
    return parse_appliance_config(text, path, error);
}

std::optional<PortProfile> parse_port_profile(std::string_view text, const std::string& path, const std::string& name,
                                              std::string& error) {
    error.clear();
    auto root = parse_toml(text, path, error);
    if (!root) return std::nullopt;
    PortProfile p;
    p.name = name;
    Reader r(*root, path, "", error);
    const std::initializer_list<std::pair<std::string_view, OffloadPolicy>> policies = {
        {"software", OffloadPolicy::kSoftware}, {"hardware", OffloadPolicy::kHardware}, {"auto", OffloadPolicy::kAuto}};
    r.only({"driver", "rx_descriptors", "tx_descriptors", "max_queues", "mtu", "rss", "ipv4_checksum", "tcp_checksum",
            "require_offloads", "mbufs_per_queue", "mempool_cache"}) &&
        r.string("driver", p.driver, true) && r.integer("rx_descriptors", p.rx_descriptors, 32, 32768) &&
        r.integer("tx_descriptors", p.tx_descriptors, 32, 32768) && r.integer("max_queues", p.max_queues, 1, 1024) &&
        r.integer("mtu", p.mtu, 576, 9600) && r.boolean("rss", p.rss) && r.choice("ipv4_checksum", p.ipv4_checksum, policies) &&
        r.choice("tcp_checksum", p.tcp_checksum, policies) && r.boolean("require_offloads", p.require_offloads) &&
        r.integer("mbufs_per_queue", p.mbufs_per_queue, 512, 1 << 22) && r.integer("mempool_cache", p.mempool_cache, 0, 512);
    if (!r.ok()) return std::nullopt;
    return p;
}

std::optional<PortProfile> load_port_profile(const std::string& dir, const std::string& name, std::string& error) {
    if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos) {
        error = "profile '" + name + "': must be a file name in " + dir;
        return std::nullopt;
    }
    const std::string path = dir + "/" + name + ".toml";
    std::string text;
    if (!read_file(path, text, error)) {
        error = path + ": unknown profile '" + name + "' (no such file)";
        return std::nullopt;
    }
    return parse_port_profile(text, path, name, error);
}

}  // namespace synwall::config
