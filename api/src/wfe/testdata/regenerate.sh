#!/bin/sh
# Regenerates the fixed RSA test key used by the RS256 JWS tests (wfe/test_support.rs).
# ring cannot generate RSA keys, so the key is made once with OpenSSL and checked in as PKCS#8 DER.
# `genpkey -outform DER` writes PKCS#1 on OpenSSL 3.0, hence the explicit `pkcs8 -topk8` step.
# It is a test key only: it signs nothing outside `cargo test`.
set -eu
cd "$(dirname "$0")"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
  | openssl pkcs8 -topk8 -nocrypt -outform DER -out rsa2048.pk8.der
