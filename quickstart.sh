#!/usr/bin/env bash
# fleetca quick start on the embedded default (SoftHSM2). Usage: ./quickstart.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")"
dir=${1:-./quickstart}
if [ -e "$dir" ]; then
  [ -e "$dir/.fleetca-quickstart" ] || { echo "quickstart: $dir exists and is not a quick-start directory" >&2; exit 1; }
  rm -rf "$dir"
fi
mkdir -p "$dir" && touch "$dir/.fleetca-quickstart"
dir=$(cd "$dir" && pwd)
step() { printf '\n== %s\n' "$*"; }

step "build"
command -v openssl >/dev/null || scripts/install-deps.sh
cargo build --release --locked --workspace --bins
bin=$PWD/target/release
export PATH="$bin:$PATH"

step "SoftHSM tokens (fleetca-root, fleetca-issuing) in $dir/softhsm"
eval "$(./softhsm-setup.sh --dir "$dir/softhsm")"
export FLEETCA_OPERATOR=quickstart
ceremony=(fleetca-ceremony --dir "$dir/ceremony" --pin-file "$dir/softhsm/fleetca-root.pin")

step "root ceremony: key on the fleetca-root token, self-signed root"
"${ceremony[@]}" init --org "Example Org" --crl-url http://pki.example.org/root.crl

step "cluster intermediate for cluster1"
openssl ecparam -name prime256v1 -genkey -noout -out "$dir/cluster1.key"
openssl req -new -key "$dir/cluster1.key" -subj "/CN=cluster1 issuing CA" -out "$dir/cluster1.csr"
"${ceremony[@]}" sign-intermediate --csr "$dir/cluster1.csr" --cluster cluster1 --yes \
  --permit-dns cluster1.example.org --permit-dns svc.cluster.local \
  --spiffe-trust-domain cluster1.example.org

step "root CRL"
"${ceremony[@]}" crl

step "checks"
openssl verify -x509_strict -CAfile "$dir/ceremony/root.pem" "$dir/ceremony/intermediates/cluster1.pem"
openssl crl -noout -CAfile "$dir/ceremony/root.pem" -in "$dir/ceremony/root.crl.pem"
"${ceremony[@]}" transcript verify

step "artefacts"
cat <<DONE
  root certificate      $dir/ceremony/root.pem
  cluster1 intermediate $dir/ceremony/intermediates/cluster1.pem
  root CRL              $dir/ceremony/root.crl (DER), root.crl.pem
  ceremony transcript   $dir/ceremony/transcript.jsonl
  SoftHSM config        $dir/softhsm/softhsm2.conf (PINs in $dir/softhsm/*.pin)
DONE
