// Configuration files: a valid synwall.toml and profile load into the structs; every kind of bad
// input is an error naming the file, the key and the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/appliance_config.hpp"

using namespace synwall;
using namespace synwall::config;

namespace {

const char* kValid = R"(
[engine]
half_open_capacity = 1000
burst = 64
synack_rto_ms = 500

[cookie]
prf = "siphash"
counter_period = 32
rotation_period = 320

[[port]]
name = "wire"
device = "net_ring0"
profile = "net_ring"

[[listener]]
name = "web"
address = "203.0.113.0/24"
port = 443
backlog = 128
cookie_mode = "always"
synack_retries = 3

[[listener]]
address = "2001:db8::10"
port = 80

[lcores]
workers = [1]

[application]
kind = "absorb"
close = "fin"
)";

std::string error_of(const std::string& text) {
    std::string err;
    EXPECT_FALSE(parse_appliance_config(text, "s.toml", err)) << text;
    return err;
}

std::string with(const std::string& replace, const std::string& by, const std::string& base = kValid) {
    std::string t = base;
    const auto at = t.find(replace);
    EXPECT_NE(at, std::string::npos) << replace;
    t.replace(at, replace.size(), by);
    return t;
}

}  // namespace

TEST(ApplianceConfig, ValidFileLoads) {
    std::string err;
    const auto c = parse_appliance_config(kValid, "s.toml", err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->engine.half_open_capacity, 1000u);
    EXPECT_EQ(c->burst, 64);
    EXPECT_EQ(c->engine.synack_rto_ns, 500'000'000u);
    EXPECT_EQ(c->prf, cookie::PrfKind::kSipHash);
    EXPECT_EQ(c->secrets.counter_period_s, 32u);
    ASSERT_EQ(c->ports.size(), 1u);
    EXPECT_EQ(c->ports[0].device, "net_ring0");
    ASSERT_EQ(c->listeners.size(), 2u);
    EXPECT_EQ(c->listeners[0].prefix_len, 24);
    EXPECT_EQ(c->listeners[0].port, 443);
    EXPECT_EQ(c->listeners[0].cookie_mode, handshake::CookieMode::kAlways);
    EXPECT_EQ(c->listeners[0].synack_retries, 3);
    EXPECT_EQ(c->listeners[1].family, net::Family::kIpv6);
    EXPECT_EQ(c->listeners[1].prefix_len, 128);
    EXPECT_EQ(c->listeners[1].mss, 1440) << "IPv6 default MSS";
    EXPECT_EQ(c->listeners[1].name, "listener1");
    EXPECT_EQ(c->worker_lcores, std::vector<unsigned>{1});
    EXPECT_EQ(c->close_with, CloseWith::kFin);
    EXPECT_TRUE(c->engine.fast_path) << "the fast path is on by default";
    const auto off = parse_appliance_config(with("burst = 64", "burst = 64\nfast_path = false"), "s.toml", err);
    ASSERT_TRUE(off) << err;
    EXPECT_FALSE(off->engine.fast_path);
}

TEST(ApplianceConfig, EveryBadInputNamesFileKeyAndReason) {
    const std::pair<std::string, std::string> cases[] = {
        {with("burst = 64", "burts = 64"), "s.toml: engine.burts: unknown key"},
        {with("burst = 64", "burst = 0"), "s.toml: engine.burst: 0 out of range 1..256"},
        {with("burst = 64", "burst = \"many\""), "s.toml: engine.burst: must be an integer"},
        {with("burst = 64", "fast_path = 1"), "s.toml: engine.fast_path: must be true or false"},
        {with("prf = \"siphash\"", "prf = \"md5\""), "s.toml: cookie.prf: 'md5' is not one of auto|vaes|aesni|siphash"},
        {with("rotation_period = 320", "rotation_period = 100"), "s.toml: cookie.rotation_period: must be a multiple of counter_period"},
        {with("cookie_mode = \"always\"", "cookie_mode = \"sometimes\""),
         "s.toml: listener[0].cookie_mode: 'sometimes' is not one of never|auto|always"},
        {with("address = \"203.0.113.0/24\"", "address = \"203.0.113.0/33\""),
         "s.toml: listener[0].address: prefix length above 32 in '203.0.113.0/33'"},
        {with("address = \"203.0.113.0/24\"", "address = \"web.example\""),
         "s.toml: listener[0].address: 'web.example' is not an IPv4 or IPv6 address or prefix"},
        {with("port = 443", "port = 70000"), "s.toml: listener[0].port: 70000 out of range 1..65535"},
        {with("port = 443", "prot = 443"), "s.toml: listener[0].prot: unknown key"},
        {with("device = \"net_ring0\"", ""), "s.toml: port[0].device: missing"},
        {with("synack_retries = 3", "synack_retries = true"), "s.toml: listener[0].synack_retries: must be an integer"},
        {with("workers = [1]", "workers = [\"one\"]"), "s.toml: lcores.workers: entries must be integers 0..1023"},
        {with("close = \"fin\"", "close = \"slam\""), "s.toml: application.close: 'slam' is not one of rst|fin"},
        {with("[application]", "[applicaton]"), "s.toml: applicaton: unknown key"},
        {with("backlog = 128", "backlog = 128\nbacklog = 3"), "s.toml: line "},
        {with("address = \"2001:db8::10\"\nport = 80", "address = \"203.0.113.7/24\"\nport = 443"),
         "s.toml: listener[1].address: '203.0.113.7/24' port 443 is already listener[0] ('web')"},
        {with("address = \"2001:db8::10\"", "name = \"web\"\naddress = \"2001:db8::10\""),
         "s.toml: listener[1].name: 'web' is already listener[0]'s name"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string err = error_of(text);
        EXPECT_EQ(err.rfind(expected, 0), 0u) << "got: " << err << "\nwanted prefix: " << expected;
    }
}

TEST(ApplianceConfig, PortPeers) {
    const std::string two = with("profile = \"net_ring\"\n", "profile = \"net_ring\"\n\n[[port]]\nname = \"servers\"\ndevice = \"net_ring1\"\nprofile = \"net_ring\"\n");
    std::string err;
    auto c = parse_appliance_config(two, "s.toml", err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->ports[0].peer_index, 1) << "two ports bridge to each other by default";
    EXPECT_EQ(c->ports[1].peer_index, 0);
    c = parse_appliance_config(kValid, "s.toml", err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->ports[0].peer_index, -1) << "one port: nothing to bridge to";
    const std::string bad = with("profile = \"net_ring\"\n", "profile = \"net_ring\"\npeer = \"nowhere\"\n");
    EXPECT_EQ(error_of(bad), "s.toml: port[0].peer: no other port is named 'nowhere'");
}

TEST(ApplianceConfig, ProxyApplication) {
    const std::string two = with("profile = \"net_ring\"\n", "profile = \"net_ring\"\n\n[[port]]\nname = \"inside\"\ndevice = \"net_ring1\"\nprofile = \"net_ring\"\n");
    const std::string proxy = with("kind = \"absorb\"\nclose = \"fin\"", "kind = \"proxy\"\nserver_port = \"inside\"\nserver_syn_retries = 2\n"
                                                    "server_syn_timeout_ms = 250\nidle_timeout_s = 60\nhold_bytes = 4096\n"
                                                    "grace_ms = 1500\nflow_capacity = 100000",
                                   two);
    std::string err;
    auto c = parse_appliance_config(proxy, "s.toml", err);
    ASSERT_TRUE(c) << err;
    EXPECT_EQ(c->app, AppKind::kProxy);
    EXPECT_EQ(c->proxy.server_port_index, 1);
    EXPECT_EQ(c->proxy.server_syn_retries, 2);
    EXPECT_EQ(c->proxy.server_syn_timeout_ms, 250u);
    EXPECT_EQ(c->proxy.idle_timeout_s, 60u);
    EXPECT_EQ(c->proxy.hold_bytes, 4096u);
    EXPECT_EQ(c->grace_ms, 1500u);
    EXPECT_EQ(c->engine.established_capacity, 100000u) << "flow_capacity sizes the established-flow index";

    const std::pair<std::string, std::string> cases[] = {
        {with("server_port = \"inside\"\n", "", proxy), "s.toml: application.server_port: missing"},
        {with("server_port = \"inside\"", "server_port = \"servers\"", proxy),
         "s.toml: application.server_port: no port is named 'servers'"},
        {with("server_syn_retries = 2", "server_syn_retries = 11", proxy), "s.toml: application.server_syn_retries: 11 out of range 0..10"},
        {with("idle_timeout_s = 60", "idle_timeout_s = 0", proxy), "s.toml: application.idle_timeout_s: 0 out of range 1..86400"},
        {with("kind = \"proxy\"", "kind = \"proxi\"", proxy), "s.toml: application.kind: 'proxi' is not one of absorb|proxy"},
        {with("half_open_capacity = 1000", "half_open_capacity = 1000\nestablished_capacity = 5", proxy),
         "s.toml: application.flow_capacity: differs from engine.established_capacity"},
        {with("kind = \"absorb\"\nclose = \"fin\"", "kind = \"proxy\"\nserver_port = \"wire\""), "s.toml: application.kind: the proxy needs two ports"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string e = error_of(text);
        EXPECT_EQ(e.rfind(expected, 0), 0u) << "got: " << e << "\nwanted prefix: " << expected;
    }
}

TEST(ApplianceConfig, MissingFileAndMissingSections) {
    std::string err;
    EXPECT_FALSE(load_appliance_config("/nonexistent/synwall.toml", err));
    EXPECT_EQ(err, "/nonexistent/synwall.toml: cannot open file");
    EXPECT_EQ(error_of("[engine]\n"), "s.toml: port: at least one [[port]] is required");
}

TEST(PortProfile, LoadsAndRejects) {
    const auto dir = std::filesystem::temp_directory_path() / ("synwall-prof-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "net_ring.toml") << "driver = \"net_ring\"\nrx_descriptors = 512\ntcp_checksum = \"auto\"\n";
    std::ofstream(dir / "bad.toml") << "driver = \"x\"\nrx_descriptors = 5\n";
    std::string err;
    const auto p = load_port_profile(dir.string(), "net_ring", err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(p->driver, "net_ring");
    EXPECT_EQ(p->rx_descriptors, 512);
    EXPECT_EQ(p->tcp_checksum, OffloadPolicy::kAuto);
    EXPECT_FALSE(load_port_profile(dir.string(), "bad", err));
    EXPECT_EQ(err, (dir / "bad.toml").string() + ": rx_descriptors: 5 out of range 32..32768");
    EXPECT_FALSE(load_port_profile(dir.string(), "nosuch", err));
    EXPECT_NE(err.find("unknown profile 'nosuch'"), std::string::npos);
    EXPECT_FALSE(load_port_profile(dir.string(), "../etc/passwd", err));
    std::filesystem::remove_all(dir);
}
