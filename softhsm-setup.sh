#!/usr/bin/env bash
# Installs SoftHSM2 and OpenSC when missing and initialises fleetca's two tokens:
#   fleetca-root     the offline root (key ceremony)
#   fleetca-issuing  the online issuing service (cluster intermediates)
#
# Usage: softhsm-setup.sh [--dir DIR] [--reset]
#   --dir DIR   token directory and config (default: $FLEETCA_SOFTHSM_DIR or ./.softhsm)
#   --reset     delete existing tokens and start over (otherwise existing tokens are kept)
#
# PINs come from the environment (FLEETCA_ROOT_PIN, FLEETCA_ISSUING_PIN, and the security
# officer PINs FLEETCA_ROOT_SO_PIN, FLEETCA_ISSUING_SO_PIN); any that is unset is generated and
# written to DIR/<token>.pin (or .so-pin) with mode 0600. PINs reach pkcs11-tool through its
# env:NAME form, never on a command line, and are never printed.
#
# Prints the line to evaluate:  export SOFTHSM2_CONF=DIR/softhsm2.conf
set -euo pipefail

dir="${FLEETCA_SOFTHSM_DIR:-./.softhsm}"
reset=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --reset) reset=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "softhsm-setup.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

module="${FLEETCA_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
if ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null || [ ! -e "$module" ]; then
  echo "softhsm-setup.sh: installing softhsm2 and opensc" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q softhsm2 opensc >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -q softhsm2 opensc >/dev/null; }
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
umask 077
conf="$dir/softhsm2.conf"
if [ "$reset" = 1 ]; then
  rm -rf "$dir/tokens" "$dir"/*.pin "$dir"/*.so-pin
fi
mkdir -p "$dir/tokens"
cat > "$conf" <<CONF
# written by fleetca softhsm-setup.sh
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$conf"

# pin_for VAR FILE: the PIN from $VAR, else from FILE, else a new one written to FILE (0600).
pin_for() {
  local var="$1" file="$2"
  if [ -n "${!var:-}" ]; then
    printf '%s' "${!var}"
  elif [ -s "$file" ]; then
    head -n1 "$file"
  else
    local pin
    pin=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$pin" > "$file"
    chmod 600 "$file"
    printf '%s' "$pin"
  fi
}

has_token() {
  softhsm2-util --show-slots 2>/dev/null | grep -Eq "^ *Label: *$1 *$"
}

free_slot() {
  softhsm2-util --show-slots | awk '/^Slot /{s=$2} /Initialized: *no/{print s; exit}'
}

# Tokens are initialised one after the other: two processes initialising one token store at the
# same moment can miss each other's token. PINs reach pkcs11-tool as env:NAME, never on argv.
for token in fleetca-root fleetca-issuing; do
  upper=$(echo "${token#fleetca-}" | tr a-z A-Z)
  if has_token "$token"; then
    echo "softhsm-setup.sh: token $token exists, kept (use --reset to start over)" >&2
    continue
  fi
  FLEETCA_SETUP_PIN=$(pin_for "FLEETCA_${upper}_PIN" "$dir/$token.pin")
  FLEETCA_SETUP_SO_PIN=$(pin_for "FLEETCA_${upper}_SO_PIN" "$dir/$token.so-pin")
  export FLEETCA_SETUP_PIN FLEETCA_SETUP_SO_PIN
  pkcs11-tool --module "$module" --slot "$(free_slot)" --init-token --label "$token" \
    --so-pin env:FLEETCA_SETUP_SO_PIN >/dev/null
  # SoftHSM moves a token to a new slot when it is initialised: address it by label from now on.
  pkcs11-tool --module "$module" --token-label "$token" --login --login-type so \
    --so-pin env:FLEETCA_SETUP_SO_PIN --init-pin --pin env:FLEETCA_SETUP_PIN >/dev/null
  unset FLEETCA_SETUP_PIN FLEETCA_SETUP_SO_PIN
  echo "softhsm-setup.sh: initialised token $token" >&2
done

echo "export SOFTHSM2_CONF=$conf"
