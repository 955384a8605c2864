# Sourced first by synwall's scripts: `-h` or `--help` as the first argument prints the script's
# header comment (its usage) and exits 0, before anything is installed, built or run.
# Usage: . "$(dirname "$0")/lib/usage.sh" "$0" "$@"     (from scripts/)
#        . "$(dirname "$0")/../scripts/lib/usage.sh" "$0" "$@"   (from bench/)
case "${2:-}" in
  -h|--help)
    sed -n '2,/^[^#]/p' "$1" | sed '/^[^#]/d; s/^# \{0,1\}//'
    exit 0 ;;
esac
