#!/usr/bin/env bash
# Installs what fleetca's tests and quick start need on a fresh Debian machine:
#   apt: softhsm2 (the HSM), opensc (pkcs11-tool), openssl, lego and certbot (ACME clients),
#        golang-go + golang-golang-x-crypto-dev (to build shared/tools/cmclient)
#   PyPI: pkilint (certificate, CRL and OCSP linter)
# Each is installed only when missing, so re-running is cheap.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need_apt=()
command -v softhsm2-util >/dev/null || need_apt+=(softhsm2)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need_apt+=(softhsm2)
command -v pkcs11-tool >/dev/null || need_apt+=(opensc)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)
command -v lego >/dev/null || need_apt+=(lego)
command -v certbot >/dev/null || need_apt+=(certbot)
command -v go >/dev/null || need_apt+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/crypto/acme ] || need_apt+=(golang-golang-x-crypto-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}" >&2
  apt-get update -qq
  apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

if ! command -v lint_pkix_cert >/dev/null; then
  echo "install-deps: pip install pkilint" >&2
  python3 -m pip install -q pkilint
fi
