#!/usr/bin/env bash
# Benchmark: CRL generation for N revoked entries — fleetca's encoder and signer (benches/crl.rs,
# release build, P-256 software key, 16-byte random serials, one entry in ten with a reason)
# against `openssl ca -gencrl` on an index.txt with the same number of revoked entries (16-byte
# random serials, one in ten keyCompromise, P-256 key, AKI + CRL number + IDP like fleetca's).
# Both CRLs are checked with `openssl crl -inform DER -noout -CAfile`. Prints a Markdown table;
# docs/BENCHMARKS.md records the results.
# Usage: bench/crl.sh [N ...]   (default: 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
work=$(mktemp -d /tmp/fleetca-bench-crl.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
log() { printf '[crl.sh %s] %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

log "building the bench target (release)"
cargo test --release -p fleetca --bench crl --no-run > "$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }

# The openssl CA: P-256, extensions as fleetca's CRLs carry them.
mkdir -p "$work/ossl"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
  -subj "/O=Example Org/CN=openssl bench CA" -keyout "$work/ossl/ca.key" -out "$work/ossl/ca.pem" 2>/dev/null
ossl_conf() { # DIR -> DIR/ca.cnf
  cat > "$1/ca.cnf" <<CNF
[ca]
default_ca = bench
[bench]
database = $1/index.txt
crlnumber = $1/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
issuingDistributionPoint = critical, @idp
[idp]
fullname = URI:http://crl.example.org/bench.crl
CNF
  echo 01 > "$1/crlnumber"
  echo "unique_subject = no" > "$1/index.txt.attr"
}
gencrl() { # DIR -> seconds
  local t0 t1
  t0=$(now)
  openssl ca -config "$1/ca.cnf" -gencrl -keyfile "$work/ossl/ca.key" -cert "$work/ossl/ca.pem" \
    -out "$1/crl.pem" 2> "$1/gencrl.log" || { cat "$1/gencrl.log" >&2; exit 1; }
  t1=$(now)
  openssl crl -in "$1/crl.pem" -outform DER -out "$1/crl.der"
  calc "'%.3f' % ($t1 - $t0)"
}
# Empty CRL: the per-entry size is (size - empty size) / N.
mkdir -p "$work/ossl/empty" && ossl_conf "$work/ossl/empty" && : > "$work/ossl/empty/index.txt"
gencrl "$work/ossl/empty" > /dev/null
empty_der=$(stat -c %s "$work/ossl/empty/crl.der")

rows=()
for n in "${sizes[@]}"; do
  # --- fleetca
  log "fleetca: $n entries (cargo test --release -p fleetca --bench crl -- --ignored)"
  mkdir -p "$work/fleetca-$n"
  FLEETCA_BENCH_ENTRIES=$n FLEETCA_BENCH_OUT="$work/fleetca-$n" \
    cargo test --release -p fleetca --bench crl -- --ignored --nocapture > "$work/fleetca-$n.log" 2>&1 \
    || { tail -20 "$work/fleetca-$n.log"; exit 1; }
  line=$(grep '^crl:' "$work/fleetca-$n.log")
  log "$line"
  f_total=$(sed -n 's/.*encode+sign \([0-9.]*\) s.*/\1/p' <<<"$line")
  f_bpe=$(sed -n 's/.*(\([0-9.]*\) bytes\/entry).*/\1/p' <<<"$line")
  f_check=$(openssl crl -inform DER -in "$work/fleetca-$n/crl.der" -noout -CAfile "$work/fleetca-$n/issuer.pem" 2>&1 | tr '\n' ' ')
  f_count=$(openssl crl -inform DER -in "$work/fleetca-$n/crl.der" -noout -text | grep -c 'Serial Number:')

  # --- openssl: index.txt with N revoked entries
  d="$work/ossl/n$n"
  mkdir -p "$d" && ossl_conf "$d"
  python3 - "$d/index.txt" "$n" <<'PY'
import os, sys, time
path, n = sys.argv[1], int(sys.argv[2])
now = int(time.time())
fmt = lambda t: time.strftime("%y%m%d%H%M%SZ", time.gmtime(t))
exp = fmt(now + 90 * 86400)
rnd = os.urandom(16 * n)
with open(path, "w") as f:
    for i in range(n):
        s = rnd[16 * i:16 * i + 16].hex().upper()
        rev = fmt(now - i % 7776000) + (",keyCompromise" if i % 10 == 0 else "")
        f.write(f"R\t{exp}\t{rev}\t{s}\tunknown\t/CN=x\n")
PY
  log "openssl ca -gencrl: $n entries ($(stat -c %s "$d/index.txt") bytes of index.txt)"
  o_total=$(gencrl "$d")
  o_check=$(openssl crl -inform DER -in "$d/crl.der" -noout -CAfile "$work/ossl/ca.pem" 2>&1 | tr '\n' ' ')
  o_count=$(openssl crl -inform DER -in "$d/crl.der" -noout -text | grep -c 'Serial Number:')
  o_bpe=$(calc "'%.2f' % (($(stat -c %s "$d/crl.der") - $empty_der) / $n)")
  # How much of openssl's time is reading index.txt: `openssl ca -status` loads the same database.
  t0=$(now)
  openssl ca -config "$d/ca.cnf" -status 01 > /dev/null 2>&1 || true
  o_load=$(calc "'%.3f' % ($(now) - $t0)")
  log "openssl: $o_total s (index load alone $o_load s); $o_check"

  f_per=$(calc "'%.3f' % ($f_total * 100000 / $n)")
  o_per=$(calc "'%.3f' % ($o_total * 100000 / $n)")
  o_per_noload=$(calc "'%.3f' % (($o_total - $o_load) * 100000 / $n)")
  ratio=$(calc "'%.1f' % ($o_total / $f_total)")
  ratio_noload=$(calc "'%.1f' % (($o_total - $o_load) / $f_total)")
  rows+=("| $n | $f_total s | $o_total s (index load $o_load s) | $f_per | $o_per ($o_per_noload without the load) | ${ratio}× (${ratio_noload}×) | $f_bpe | $o_bpe | fleetca: $f_count entries, ${f_check% } · openssl: $o_count entries, ${o_check% } |")
done

cat <<TABLE
| entries ($(nproc) cores, $(date -u +%Y-%m-%d)) | fleetca encode+sign | openssl ca -gencrl (wall) | fleetca s per 100,000 | openssl s per 100,000 | openssl/fleetca | fleetca bytes/entry | openssl bytes/entry | openssl crl -inform DER -noout -CAfile |
|---|---|---|---|---|---|---|---|---|
TABLE
printf '%s\n' "${rows[@]}"
