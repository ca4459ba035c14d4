#!/usr/bin/env bash
# Benchmark: time per certificate through cmclient (cert-manager's ACME client library) against
# fleetca and against Debian's pebble, in the same run, plus certificates per second with 8
# clients in parallel. Prints a Markdown table; docs/BENCHMARKS.md records the results.
# Usage: bench/acme.sh [N]   (N certificates per sequential run, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
par=8
work=$(mktemp -d /tmp/fleetca-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
command -v pebble >/dev/null || { apt-get install -y -q pebble >/dev/null || { apt-get update -qq && apt-get install -y -q pebble >/dev/null; }; }
cmclient=$(bash ../shared/tools/cmclient/build.sh "$PWD/target/cmclient")

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- fleetca: the quick start's deployment, then the server again for the benchmark.
export FLEETCA_QS_HTTPS_PORT=$(port) FLEETCA_QS_HTTP_PORT=$(port) FLEETCA_QS_HTTP01_PORT=$(port)
./quickstart.sh "$work/fleetca" > "$work/quickstart.log" 2>&1 || { tail -30 "$work/quickstart.log"; exit 1; }
export SOFTHSM2_CONF="$work/fleetca/softhsm/softhsm2.conf" FLEETCA_CONFIG="$work/fleetca/fleetca.toml"
RUST_LOG=warn target/release/fleetca serve > "$work/fleetca-serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf --cacert "$work/fleetca/ceremony/root.pem" "https://127.0.0.1:$FLEETCA_QS_HTTPS_PORT/acme/cluster1/directory" >/dev/null 2>&1 && break; sleep 0.2; done
fleetca_eab() { target/release/fleetca account new --cluster cluster1 --namespace payments --json 2>/dev/null | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["kid"], v["hmac_key"])'; }
fleetca_run() { # N [key] -> JSON line
  read -r kid hmac < <(fleetca_eab)
  "$cmclient" -key "${2:-rsa2048}" -dir "https://127.0.0.1:$FLEETCA_QS_HTTPS_PORT/acme/cluster1/directory" -cacert "$work/fleetca/ceremony/root.pem" \
    -eab-kid "$kid" -eab-hmac "$hmac" -names api.payments.svc.cluster.local -n "$1"
}

# --- pebble with EAB and always-valid authorizations (cmclient accepts the challenge).
mkdir -p "$work/pebble"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=pebble" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/pebble/key.pem" -out "$work/pebble/cert.pem" 2>/dev/null
pebble_port=$(port)
pebble_hmac=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
cat > "$work/pebble/config.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$pebble_port", "managementListenAddress": "127.0.0.1:$(port)",
  "certificate": "$work/pebble/cert.pem", "privateKey": "$work/pebble/key.pem",
  "httpPort": $(port), "tlsPort": $(port), "ocspResponderURL": "",
  "externalAccountBindingRequired": true, "externalAccountMACKeys": {"bench": "$pebble_hmac"}}}
JSON
PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$work/pebble/config.json" > "$work/pebble.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sfk "https://127.0.0.1:$pebble_port/dir" >/dev/null 2>&1 && break; sleep 0.2; done
pebble_run() { # N [key]
  "$cmclient" -key "${2:-rsa2048}" -dir "https://127.0.0.1:$pebble_port/dir" -cacert "$work/pebble/cert.pem" \
    -eab-kid bench -eab-hmac "$pebble_hmac" -names bench.example.org -accept-challenges -n "$1"
}

ms() { python3 -c 'import json,sys; v=json.loads(sys.stdin.read().strip().splitlines()[-1]); assert v["ok"], v; print("%.1f" % v["per_cert_ms"])'; }
parallel() { # runner per_client -> certificates per second
  local runner=$1 per=$2 start end clients=() i
  start=$(date +%s.%N)
  for i in $(seq 1 $par); do $runner "$per" > "$work/par.$runner.$i.json" & clients+=($!); done
  for i in "${clients[@]}"; do wait "$i"; done
  end=$(date +%s.%N)
  for i in $(seq 1 $par); do ms < "$work/par.$runner.$i.json" > /dev/null; done
  python3 -c "print('%.1f' % ($par*$per/($end-$start)))"
}

pn=$(( n / 4 > 10 ? n / 4 : 10 ))  # pebble is slow; fewer certificates give the same mean
f_ms=$(fleetca_run "$n" | ms)
p_ms=$(pebble_run "$pn" | ms)
f_ec=$(fleetca_run "$n" ec256 | ms)
p_ec=$(pebble_run "$pn" ec256 | ms)
f_par=$(parallel fleetca_run $(( n / par > 5 ? n / par : 5 )))
p_par=$(parallel pebble_run 5)
ratio=$(python3 -c "print('%.1f' % ($p_ms/$f_ms))")
ratio_ec=$(python3 -c "print('%.1f' % ($p_ec/$f_ec))")
cat <<TABLE
| run ($(nproc) cores, $(date -u +%Y-%m-%d)) | fleetca | pebble | ratio |
|---|---|---|---|
| ms per certificate, 1 client, RSA-2048 CSR keys as cert-manager (cmclient -n; fleetca $n, pebble $pn) | $f_ms | $p_ms | pebble/fleetca = ${ratio}× |
| ms per certificate, 1 client, P-256 CSR keys (cmclient -key ec256) | $f_ec | $p_ec | pebble/fleetca = ${ratio_ec}× |
| certificates per second, $par clients in parallel | $f_par | $p_par | |
TABLE
