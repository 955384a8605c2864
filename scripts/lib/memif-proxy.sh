# synwall as a proxy between two net_memif links (servers' role; synwall-gen connects as client:
# clients on out.sock, its --respond server on in.sock), shared by scripts/run.sh and
# bench/e2e/proxy_rate.sh (sourced). Prints a synwall.toml.
memif_proxy_config() {  # socket dir, cookie mode, [extra [application] lines]
  cat <<TOML
# synwall in front of a server: clients (and any flood) on "outside", the protected server on
# "inside"; everything that is not the protected service is bridged.
[[port]]
name = "outside"
device = "net_memif0,role=server,socket=$1/out.sock"
profile = "net_memif"

[[port]]
name = "inside"
device = "net_memif1,role=server,socket=$1/in.sock"
profile = "net_memif"

[[listener]]
name = "web"
address = "203.0.113.10"
port = 80
cookie_mode = "$2"
max_half_open = 1024

[application]
kind = "proxy"
server_port = "inside"
${3:-}
TOML
}
