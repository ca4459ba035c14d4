#!/usr/bin/env bash
# Benchmark: OCSP requests per second at concurrency 16 (wrk, POST application/ocsp-request,
# rotating through pre-built RFC 5019 requests without nonce) against fleetca's responder and
# against `openssl ocsp` as a responder, on the same CA size, in the same run; plus the time
# from `fleetca revoke` returning to OCSP answering `revoked`. Prints a Markdown table;
# docs/BENCHMARKS.md records the results.
# Usage: bench/ocsp.sh [CERTS [REQUESTS [SECONDS]]]
#   CERTS     certificates issued through ACME into fleetca (default 10000; 10% are revoked)
#   REQUESTS  distinct OCSP requests wrk rotates through, per CA (default 400)
#   SECONDS   wrk duration per responder (default 10)
# Env: OSSL_MULTI (openssl ocsp -multi N, default: the number of cores), TRIALS (revocation
# latency trials, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
certs=${1:-10000}
nreq=${2:-400}
secs=${3:-10}
par=8
conc=16
cores=$(nproc)
multi=${OSSL_MULTI:-$cores}
trials=${TRIALS:-10}
work=$(mktemp -d /tmp/fleetca-bench-ocsp.XXXXXX)
pids=()
kill_tree() { # PID: the process and its direct children (openssl ocsp -multi workers)
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do kill "$c" 2>/dev/null || true; done
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() { for p in "${pids[@]}"; do kill_tree "$p"; done; }
trap cleanup EXIT
log() { printf '[ocsp.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
for tool in wrk curl; do
  command -v $tool >/dev/null || { apt-get install -y -q $tool >/dev/null || { apt-get update -qq && apt-get install -y -q $tool >/dev/null; }; }
done
cmclient=$(bash ../shared/tools/cmclient/build.sh "$PWD/target/cmclient")
fleetca=$PWD/target/release/fleetca

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the wrk script and a small OCSP client (warm-up, status check, revocation latency).
cat > "$work/post.lua" <<'LUA'
-- POSTs pre-built DER OCSP requests, rotating through every file named in $OCSP_REQ_LIST.
local bodies, i, threads = {}, 0, 0
function setup(thread) threads = threads + 1; thread:set("offset", threads * 97) end
function init(args)
  local list = assert(io.open(os.getenv("OCSP_REQ_LIST"), "r"))
  for path in list:lines() do
    local f = assert(io.open(path, "rb")); bodies[#bodies + 1] = f:read("*a"); f:close()
  end
  list:close()
  i = (offset or 0) % #bodies
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/ocsp-request" }, bodies[i])
end
LUA
cat > "$work/ocspc.py" <<'PY'
"""Tiny OCSP-over-HTTP client. Request files are named SERIAL.der (lower-case hex).
  warm URL LIST [close]   POST every request once; print counts of good/revoked/unknown
  latency URL DIR S...    per serial: revoke with fleetca, then poll every 10 ms until revoked
"""
import http.client, os, statistics, subprocess, sys, time, urllib.parse

def status_of(resp, serial_hex):
    # successful OCSPResponse: 30 L 0a 01 00 ...; the SingleResponse's CertID ends with the
    # serial INTEGER, followed by the certStatus tag: 80 good, a1 revoked, 82 unknown.
    if b"\x0a\x01\x00" not in resp[:8]:
        return "error"
    v = bytes.fromhex(serial_hex)
    v = v.lstrip(b"\x00") or b"\x00"
    if v[0] & 0x80:
        v = b"\x00" + v
    needle = b"\x02" + bytes([len(v)]) + v
    at = resp.find(needle)
    if at < 0:
        return "noserial"
    return {0x80: "good", 0xA1: "revoked", 0x82: "unknown"}.get(resp[at + len(needle)], "?")

class Client:
    def __init__(self, url, close=False):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path, self.close = u.hostname, u.port, u.path or "/", close
        self.conn = None
    def post(self, body):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self.conn.request("POST", self.path, body, {"Content-Type": "application/ocsp-request",
                          **({"Connection": "close"} if self.close else {})})
        r = self.conn.getresponse()
        data = r.read()
        if self.close or r.getheader("Connection", "").lower() == "close":
            self.conn.close(); self.conn = None
        if r.status != 200:
            raise SystemExit(f"HTTP {r.status}")
        return data

def main():
    cmd = sys.argv[1]
    if cmd == "warm":
        c = Client(sys.argv[2], close=len(sys.argv) > 4)
        counts = {}
        for path in open(sys.argv[3]).read().split():
            s = os.path.basename(path)[:-4]
            st = status_of(c.post(open(path, "rb").read()), s)
            counts[st] = counts.get(st, 0) + 1
        print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    elif cmd == "latency":
        c = Client(sys.argv[2])
        out = []
        for s in sys.argv[4:]:
            body = open(os.path.join(sys.argv[3], s + ".der"), "rb").read()
            assert status_of(c.post(body), s) == "good", s
            assert status_of(c.post(body), s) == "good", s  # cached now
            subprocess.run([os.environ["FLEETCA"], "revoke", "--serial", s, "--reason", "keyCompromise"],
                           check=True, stdout=subprocess.DEVNULL)
            t0 = time.monotonic()
            polls = 0
            while True:
                polls += 1
                if status_of(c.post(body), s) == "revoked":
                    break
                if time.monotonic() - t0 > 10:
                    raise SystemExit(f"{s}: not revoked after 10 s")
                time.sleep(0.01)
            out.append((time.monotonic() - t0) * 1000)
        print("%.1f %.1f %.1f %d" % (statistics.median(out), min(out), max(out), len(out)))

main()
PY

# --- fleetca: the quick start's deployment, then the server again for the benchmark.
log "quick start in $work/fleetca"
export FLEETCA_QS_HTTPS_PORT=$(port) FLEETCA_QS_HTTP_PORT=$(port) FLEETCA_QS_HTTP01_PORT=$(port)
./quickstart.sh "$work/fleetca" > "$work/quickstart.log" 2>&1 || { tail -30 "$work/quickstart.log"; exit 1; }
export SOFTHSM2_CONF="$work/fleetca/softhsm/softhsm2.conf" FLEETCA_CONFIG="$work/fleetca/fleetca.toml" FLEETCA="$fleetca"
RUST_LOG=warn "$fleetca" serve > "$work/fleetca-serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf --cacert "$work/fleetca/ceremony/root.pem" "https://127.0.0.1:$FLEETCA_QS_HTTPS_PORT/acme/cluster1/directory" >/dev/null 2>&1 && break; sleep 0.2; done
fleetca_ocsp="http://127.0.0.1:$FLEETCA_QS_HTTP_PORT/ocsp/cluster1"
issuer="$work/fleetca/cluster1.pem"

# --- populate: CERTS certificates through ACME (cmclient, P-256 CSR keys, 8 in parallel).
per=$(( (certs + par - 1) / par ))
log "issuing $((per * par)) certificates through ACME ($par cmclient runs of $per)"
t0=$(date +%s.%N)
clients=()
for i in $(seq 1 $par); do
  read -r kid hmac < <("$fleetca" account new --cluster cluster1 --namespace payments --json 2>/dev/null |
    python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["kid"], v["hmac_key"])')
  "$cmclient" -key ec256 -dir "https://127.0.0.1:$FLEETCA_QS_HTTPS_PORT/acme/cluster1/directory" \
    -cacert "$work/fleetca/ceremony/root.pem" -eab-kid "$kid" -eab-hmac "$hmac" \
    -names api.payments.svc.cluster.local -n "$per" > "$work/issue.$i.json" 2> "$work/issue.$i.err" &
  clients+=($!)
done
for c in "${clients[@]}"; do wait "$c" || { cat "$work"/issue.*.err | tail -20; exit 1; }; done
issue_s=$(python3 -c "import time; print('%.1f' % ($(date +%s.%N) - $t0))")

# Serials (cluster1 leaves issued to payments, not yet revoked), and 10% of them to revoke.
"$fleetca" inventory --json > "$work/inventory.json"
python3 - "$work" <<'PY'
import json, random, sys
w = sys.argv[1]
inv = [c for c in json.load(open(f"{w}/inventory.json"))
       if c["cluster"] == "cluster1" and c["namespace"] == "payments" and not c["revoked"]]
random.seed(4)
random.shuffle(inv)
n_rev = len(inv) // 10
open(f"{w}/serials.all", "w").write("".join(f'{c["serial"]} {c["not_after"]}\n' for c in inv))
open(f"{w}/serials.revoke", "w").write("".join(c["serial"] + "\n" for c in inv[:n_rev]))
PY
total=$(wc -l < "$work/serials.all")
nrev=$(wc -l < "$work/serials.revoke")
log "$total certificates; revoking $nrev with fleetca revoke --serial (4 in parallel)"
t0=$(date +%s.%N)
xargs -P 4 -I{} "$fleetca" revoke --serial {} --reason keyCompromise < "$work/serials.revoke" > "$work/revoke.log"
revoke_s=$(python3 -c "import time; print('%.1f' % ($(date +%s.%N) - $t0))")
"$fleetca" inventory --json > "$work/inventory.json"

mkdir -p "$work/ossl" "$work/req/fleetca" "$work/req/openssl"
# The request set: NREQ serials, a tenth of them revoked; the latency set: TRIALS good serials
# outside it. The openssl CA gets an index.txt with the same serials and statuses.
python3 - "$work" "$nreq" "$trials" <<'PY'
import json, random, sys, time
w, nreq, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
inv = {c["serial"]: c for c in json.load(open(f"{w}/inventory.json"))}
mine = [l.split()[0] for l in open(f"{w}/serials.all")]
rev = [s for s in mine if inv[s]["revoked"]]
good = [s for s in mine if not inv[s]["revoked"]]
random.seed(5)
pick = random.sample(rev, nreq // 10) + random.sample(good, nreq - nreq // 10)
rest = [s for s in good if s not in set(pick)]
open(f"{w}/req.serials", "w").write("\n".join(pick) + "\n")
open(f"{w}/lat.serials", "w").write(" ".join(rest[:trials]) + "\n")
fmt = lambda t: time.strftime("%y%m%d%H%M%SZ", time.gmtime(t))
with open(f"{w}/ossl/index.txt", "w") as f:
    for s in mine:
        c = inv[s]
        hexs = "%X" % int(s, 16)
        hexs = ("0" + hexs) if len(hexs) % 2 else hexs  # as openssl writes it (BN_bn2hex)
        if c["revoked"]:
            f.write(f'R\t{fmt(c["not_after"])}\t{fmt(c["revoked"]["time"])},keyCompromise\t{hexs}\tunknown\t/CN=x\n')
        else:
            f.write(f'V\t{fmt(c["not_after"])}\t\t{hexs}\tunknown\t/CN=x\n')
PY
echo "unique_subject = no" > "$work/ossl/index.txt.attr"
log "openssl CA: $(wc -l < "$work/ossl/index.txt") index.txt entries ($(grep -c '^R' "$work/ossl/index.txt") revoked)"
# A software CA for openssl, P-256 like fleetca's intermediate and its delegated responder key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj "/O=Example Org/CN=openssl bench CA" -keyout "$work/ossl/ca.key" -out "$work/ossl/ca.pem" 2>/dev/null

# The OCSP requests: one CertID (SHA-1, as openssl and RFC 5019 clients send), no nonce.
mkreq() { # ISSUER DIR SERIAL
  openssl ocsp -issuer "$1" -serial "0x$3" -no_nonce -reqout "$2/$3.der" > /dev/null 2>&1
}
export -f mkreq
xargs -P "$cores" -I{} bash -c 'mkreq "$0" "$1" {}' "$issuer" "$work/req/fleetca" < "$work/req.serials"
xargs -P "$cores" -I{} bash -c 'mkreq "$0" "$1" {}' "$work/ossl/ca.pem" "$work/req/openssl" < "$work/req.serials"
for s in $(cat "$work/lat.serials"); do mkreq "$issuer" "$work/req/fleetca" "$s"; done
sed "s|^|$work/req/fleetca/|; s|$|.der|" "$work/req.serials" > "$work/fleetca.list"
sed "s|^|$work/req/openssl/|; s|$|.der|" "$work/req.serials" > "$work/openssl.list"

wrk_run() { # URL LIST NAME -> requests/s (wrk output in $work/wrk.NAME.txt)
  OCSP_REQ_LIST=$2 wrk -t "$cores" -c "$conc" -d "${secs}s" --latency -s "$work/post.lua" "$1" > "$work/wrk.$3.txt" 2>&1
  if grep -qE 'Non-2xx|Socket errors' "$work/wrk.$3.txt"; then log "$3: $(grep -E 'Non-2xx|Socket errors' "$work/wrk.$3.txt" | tr -s ' ')"; fi
  awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk.$3.txt"
}
p50() { awk '$1 == "50%" {print $2}' "$work/wrk.$1.txt"; }

# --- fleetca: warm every request once (each is signed once, then served from the cache), check
# the statuses, then wrk.
log "fleetca: warm-up over $nreq requests"
f_warm=$(python3 "$work/ocspc.py" warm "$fleetca_ocsp" "$work/fleetca.list")
log "fleetca warm-up: $f_warm"
log "fleetca: wrk -c $conc for ${secs}s"
f_rps=$(wrk_run "$fleetca_ocsp" "$work/fleetca.list" fleetca)
f_rss=$(ps -o rss= -p "${pids[0]}" | tr -d ' ')

# --- openssl ocsp: one responder per run (it wedges on a connection closed without a request).
# `-port` takes a number only: OpenSSL 3.0 binds [::]:PORT; every request goes to 127.0.0.1.
ossl_port=$(port)
ossl_start() {
  openssl ocsp -index "$work/ossl/index.txt" -port "$ossl_port" -rsigner "$work/ossl/ca.pem" \
    -rkey "$work/ossl/ca.key" -CA "$work/ossl/ca.pem" -ndays 1 -multi "$multi" -ignore_err \
    > "$work/openssl-ocsp.$1.log" 2>&1 &
  ossl_pid=$!
  pids+=($ossl_pid)
  for _ in $(seq 1 100); do  # listening (checked with ss: a bare connect would wedge it)
    ss -ltnH "sport = :$ossl_port" | grep -q . && [ "$(pgrep -c -P $ossl_pid)" -ge "$multi" ] && break
    sleep 0.1
  done
}
ossl_stop() { kill_tree "$ossl_pid"; }
log "openssl ocsp -multi $multi: status check over $nreq requests"
ossl_start check
o_warm=$(python3 "$work/ocspc.py" warm "http://127.0.0.1:$ossl_port/" "$work/openssl.list" close)
ossl_stop
log "openssl warm-up: $o_warm"
log "openssl ocsp: wrk -c $conc for ${secs}s"
ossl_start wrk
o_rps=$(wrk_run "http://127.0.0.1:$ossl_port/" "$work/openssl.list" openssl)
ossl_stop

# --- revocation latency: fleetca revoke returns -> the responder says revoked (poll every 10 ms).
log "revocation latency, $trials trials"
read -r lat_med lat_min lat_max lat_n < <(python3 "$work/ocspc.py" latency "$fleetca_ocsp" "$work/req/fleetca" $(cat "$work/lat.serials"))

ratio=$(python3 -c "print('%.1f' % ($f_rps/$o_rps))")
cat <<TABLE
| run ($cores cores, $(date -u +%Y-%m-%d); $total certificates, $nrev revoked; $nreq distinct requests, SHA-1 CertIDs, no nonce) | fleetca | openssl ocsp -multi $multi | ratio |
|---|---|---|---|
| OCSP requests/s, wrk -t$cores -c$conc, ${secs} s, POST | $f_rps | $o_rps | fleetca/openssl = ${ratio}× |
| wrk median latency | $(p50 fleetca) | $(p50 openssl) | |
| statuses over the request set | $f_warm | $o_warm | |
| \`fleetca revoke\` returns → OCSP says revoked (poll every 10 ms; median, min–max of $lat_n) | $lat_med ms ($lat_min–$lat_max) | | |
| populate: $total certificates through ACME ($par cmclient runs, P-256) / $nrev \`fleetca revoke --serial\` (4 in parallel) | ${issue_s} s / ${revoke_s} s | | |
TABLE
