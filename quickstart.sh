#!/usr/bin/env bash
# fleetca quick start on the embedded default (SoftHSM2 + sled), on one machine:
# SoftHSM tokens, the root ceremony, a cluster intermediate signed and imported, the server on
# localhost, a certificate issued through ACME by lego, checked with OpenSSL against OCSP and the
# CRLs, then revoked with `fleetca revoke` and checked again.
# Usage: ./quickstart.sh [DIR]      (default ./quickstart; a previous quick-start DIR is replaced)
set -euo pipefail
cd "$(dirname "$0")"
dir=${1:-./quickstart}
https_port=${FLEETCA_QS_HTTPS_PORT:-8443}
# Refuse before touching anything: a server already on the port may be a previous quick start's.
if curl -s -o /dev/null -k "https://127.0.0.1:$https_port/" 2>/dev/null; then
  echo "quickstart: something already listens on 127.0.0.1:$https_port (a running fleetca serve?); stop it or set FLEETCA_QS_HTTPS_PORT" >&2
  exit 1
fi
if [ -e "$dir" ]; then
  [ -e "$dir/.fleetca-quickstart" ] || { echo "quickstart: $dir exists and is not a quick-start directory" >&2; exit 1; }
  rm -rf "$dir"
fi
mkdir -p "$dir" && touch "$dir/.fleetca-quickstart"
dir=$(cd "$dir" && pwd)
public_port=${FLEETCA_QS_HTTP_PORT:-8080}
http01_port=${FLEETCA_QS_HTTP01_PORT:-5002}
step() { printf '\n== %s\n' "$*"; }

step "install what is missing, build"
for tool in softhsm2-util pkcs11-tool openssl lego; do
  command -v "$tool" >/dev/null || { scripts/install-deps.sh; break; }
done
cargo build --release --locked --workspace --bins
export PATH="$PWD/target/release:$PATH"

step "SoftHSM tokens fleetca-root and fleetca-issuing in $dir/softhsm"
eval "$(./softhsm-setup.sh --dir "$dir/softhsm")"
export FLEETCA_OPERATOR=quickstart
ceremony=(fleetca-ceremony --dir "$dir/ceremony" --pin-file "$dir/softhsm/fleetca-root.pin")

step "root ceremony: P-256 key on the fleetca-root token, self-signed root"
"${ceremony[@]}" init --org "Example Org" --crl-url "http://127.0.0.1:$public_port/crl/root.crl"

step "service configuration $dir/fleetca.toml"
cat > "$dir/fleetca.toml" <<TOML
data_dir = "data"
root_cert = "ceremony/root.pem"

[server]
listen = "127.0.0.1:$https_port"
external_url = "https://127.0.0.1:$https_port"
dns_name = "fleetca.example.org"
tls_cluster = "fleetca-service"
# DEVELOPMENT ONLY: the serving certificate also names 127.0.0.1 so that ACME clients on this
# laptop can reach it; the inventory marks it development-only.
dev_ip_addresses = ["127.0.0.1"]

[public]
listen = "127.0.0.1:$public_port"
url = "http://127.0.0.1:$public_port"

[hsm]
pin_file = "softhsm/fleetca-issuing.pin"

[challenges]
http01_port = $http01_port
TOML
export FLEETCA_CONFIG="$dir/fleetca.toml"

step "cluster intermediates: keys on the fleetca-issuing token, CSRs, signed in the ceremony, imported"
fleetca cluster add cluster1
fleetca cluster add fleetca-service
"${ceremony[@]}" sign-intermediate --csr "$dir/data/clusters/cluster1.csr" --cluster cluster1 --yes \
  --permit-dns cluster1.example.org --permit-dns svc.cluster.local --permit-dns svc \
  --spiffe-trust-domain cluster1.example.org
# The intermediate behind the development-only serving certificate (127.0.0.1) may not exclude
# loopback; the workload intermediate above does.
"${ceremony[@]}" sign-intermediate --csr "$dir/data/clusters/fleetca-service.csr" --cluster fleetca-service --yes \
  --permit-dns fleetca.example.org --no-exclude-loopback
fleetca cluster import cluster1 --cert "$dir/ceremony/intermediates/cluster1.pem"
fleetca cluster import fleetca-service --cert "$dir/ceremony/intermediates/fleetca-service.pem"
"${ceremony[@]}" crl

step "the server on https://127.0.0.1:$https_port (log: $dir/serve.log)"
fleetca serve > "$dir/serve.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf --cacert "$dir/ceremony/root.pem" "https://127.0.0.1:$https_port/acme/cluster1/directory" >/dev/null 2>&1 && break
  kill -0 $server_pid 2>/dev/null || { cat "$dir/serve.log"; exit 1; }
  sleep 0.2
done
kill -0 $server_pid 2>/dev/null || { echo "quickstart: fleetca serve exited" >&2; cat "$dir/serve.log"; exit 1; }

step "an ACME account for namespace payments (EAB) and its cert-manager Issuer"
# The EAB HMAC keys below are secrets: keep the files private.
umask 077
fleetca account new --cluster cluster1 --namespace payments --json > "$dir/account.json"
kid=$(sed -n 's/.*"kid": "\([^"]*\)".*/\1/p' "$dir/account.json")
hmac=$(sed -n 's/.*"hmac_key": "\([^"]*\)".*/\1/p' "$dir/account.json")
fleetca account new --cluster cluster1 --namespace payments > "$dir/issuer-payments.yaml"

step "lego orders api.payments.svc.cluster.local through ACME"
LEGO_CA_CERTIFICATES="$dir/ceremony/root.pem" lego --server "https://127.0.0.1:$https_port/acme/cluster1/directory" \
  --accept-tos --email ops@example.org --path "$dir/lego" --eab --kid "$kid" --hmac "$hmac" \
  --domains api.payments.svc.cluster.local --http --http.port "127.0.0.1:$http01_port" run
crt="$dir/lego/certificates/api.payments.svc.cluster.local.crt"

step "checks: the chain, OCSP and CRLs (root CRL published from the ceremony)"
openssl x509 -in "$crt" -out "$dir/leaf.pem"
openssl x509 -in "$dir/lego/certificates/api.payments.svc.cluster.local.issuer.crt" -out "$dir/cluster1.pem"
openssl verify -x509_strict -CAfile "$dir/ceremony/root.pem" -untrusted "$dir/cluster1.pem" "$dir/leaf.pem"
fleetca crl publish-root "$dir/ceremony/root.crl"
ocsp() {
  openssl ocsp -issuer "$dir/cluster1.pem" -cert "$dir/leaf.pem" -url "http://127.0.0.1:$public_port/ocsp/cluster1" \
    -CAfile "$dir/ceremony/root.pem" 2>&1
}
crls() {
  curl -sf "http://127.0.0.1:$public_port/crl/cluster1.crl" | openssl crl -inform DER > "$dir/crls.pem"
  curl -sf "http://127.0.0.1:$public_port/crl/root.crl" | openssl crl -inform DER >> "$dir/crls.pem"
  openssl verify -crl_check_all -CAfile "$dir/ceremony/root.pem" -untrusted "$dir/cluster1.pem" \
    -CRLfile "$dir/crls.pem" "$dir/leaf.pem" 2>&1
}
ocsp | tee "$dir/ocsp-before.txt"; grep -q "leaf.pem: good" "$dir/ocsp-before.txt"
crls | tee "$dir/crl-before.txt"; grep -q "leaf.pem: OK" "$dir/crl-before.txt"

step "revoke it (fleetca revoke), and see OCSP and the CRL say so (the 'error 23 ... certificate revoked' below is the expected result)"
serial=$(openssl x509 -in "$dir/leaf.pem" -noout -serial | cut -d= -f2)
fleetca revoke --serial "$serial" --reason keyCompromise
sleep 1
ocsp | tee "$dir/ocsp-after.txt"; grep -q "leaf.pem: revoked" "$dir/ocsp-after.txt"
crls | tee "$dir/crl-after.txt" || true; grep -q "certificate revoked" "$dir/crl-after.txt"
"${ceremony[@]}" transcript verify
fleetca inventory

step "artefacts"
cat <<DONE
  root certificate        $dir/ceremony/root.pem
  cluster1 intermediate   $dir/ceremony/intermediates/cluster1.pem
  root CRL                $dir/ceremony/root.crl (DER), root.crl.pem
  ceremony transcript     $dir/ceremony/transcript.jsonl
  service config / data   $dir/fleetca.toml, $dir/data
  issued certificate      $crt (+ .key, .issuer.crt)
  cert-manager Issuer     $dir/issuer-payments.yaml (for a second EAB key)
  SoftHSM                 $dir/softhsm/softhsm2.conf (PINs in $dir/softhsm/*.pin)
The certificate lego got was revoked at the end, to show revocation reaching OCSP and the CRL.
The server is stopped on exit; run it again with:
  export PATH=$PWD/target/release:\$PATH SOFTHSM2_CONF=$dir/softhsm/softhsm2.conf FLEETCA_CONFIG=$dir/fleetca.toml
  fleetca serve
DONE
