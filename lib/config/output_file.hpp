// Output files named on a command line (--stats-json, --json) are checked when the arguments are,
// not when the run ends: an unwritable path is a start-up error, not a lost summary.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace synwall::config {

// Empty when `path` can be opened for writing (creating it, leaving its contents); otherwise the
// reason, as "cannot write 'PATH': <strerror>".
inline std::string check_writable(const std::string& path) {
    if (std::FILE* f = std::fopen(path.c_str(), "a")) {
        std::fclose(f);
        return {};
    }
    return "cannot write '" + path + "': " + std::strerror(errno);
}

}  // namespace synwall::config
