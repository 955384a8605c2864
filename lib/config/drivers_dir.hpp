// Where a synwall binary finds the port profiles when --drivers-config is not given:
// $SYNWALL_DRIVERS_CONFIG, else the nearest drivers-config/ above the binary (a build tree: the
// source's), else share/synwall/drivers-config of the prefix the binary is installed in
// (<prefix>/bin/synwall -> <prefix>/share/synwall/drivers-config), else ./drivers-config. Relative
// to the binary, not to a path fixed at build time: a staged or moved install works too.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace synwall::config {

inline std::string default_drivers_dir() {
    if (const char* env = std::getenv("SYNWALL_DRIVERS_CONFIG")) return env;
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path exe = fs::canonical("/proc/self/exe", ec);
    if (!ec) {
        for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
            if (fs::exists(p / "drivers-config" / "net_ring.toml", ec)) return (p / "drivers-config").string();
            if (fs::exists(p / "share" / "synwall" / "drivers-config" / "net_ring.toml", ec))
                return (p / "share" / "synwall" / "drivers-config").string();
        }
    }
    return "drivers-config";
}

}  // namespace synwall::config
