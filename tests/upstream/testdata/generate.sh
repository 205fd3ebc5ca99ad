#!/bin/sh
# Regenerates the jwt_signer_test fixtures with nothing but the openssl CLI,
# so the test's expectations come from a tool independent of the code under
# test. These keys are for tests only and must never be used anywhere else.
#
#   ec_p521_private.pem  the signing key (PKCS#8 PEM, EC P-521)
#   ec_p521_public.pem   its public key (SubjectPublicKeyInfo PEM)
#   ec_p521_sec1.pem     the same key in OpenSSL's traditional SEC1 form
#   ec_p521_kid.txt      its RFC 7638 JWK thumbprint
#   other_p521_*.pem     a second P-521 pair, for "wrong key" tests
#   ec_p256_private.pem  keys FromPem must reject
#   rsa_private.pem
#   cli_signed.jwt       an ES512 token signed by `openssl dgst`, not by us
#
# Usage: sh generate.sh   (run from any directory; rewrites the files above)
set -eu
cd "$(dirname "$0")"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 \
  -out ec_p521_private.pem
openssl pkey -in ec_p521_private.pem -pubout -out ec_p521_public.pem
openssl pkey -in ec_p521_private.pem -traditional -out ec_p521_sec1.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 \
  -out other_p521_private.pem
openssl pkey -in other_p521_private.pem -pubout -out other_p521_public.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out ec_p256_private.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
  -out rsa_private.pem
chmod 644 ./*.pem

# A P-521 SubjectPublicKeyInfo ends with the uncompressed point
# 0x04 || X (66 bytes) || Y (66 bytes).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl pkey -in ec_p521_private.pem -pubout -outform DER | tail -c 133 \
  > "$tmp/point"
[ "$(head -c 1 "$tmp/point" | xxd -p)" = "04" ]
x=$(tail -c 132 "$tmp/point" | head -c 66 | b64url)
y=$(tail -c 66 "$tmp/point" | b64url)
printf '{"crv":"P-521","kty":"EC","x":"%s","y":"%s"}' "$x" "$y" \
  | openssl dgst -sha256 -binary | b64url > ec_p521_kid.txt

# JOSE wants the raw R || S, each 66 bytes; openssl emits DER, so pull the
# two INTEGERs out with asn1parse and left-pad them.
header=$(printf '{"alg":"ES512","typ":"JWT"}' | b64url)
claims=$(printf '{"iss":"openssl-cli","scopes":["*.read"],"iat":1700000000}' \
  | b64url)
printf '%s.%s' "$header" "$claims" \
  | openssl dgst -sha512 -sign ec_p521_private.pem -binary > "$tmp/sig.der"
raw=""
for hex in $(openssl asn1parse -inform DER -in "$tmp/sig.der" \
    | sed -n 's/.*INTEGER *://p'); do
  raw="$raw$(printf '%132s' "$hex" | tr ' ' '0')"
done
[ "${#raw}" -eq 264 ]
sig=$(printf '%s' "$raw" | xxd -r -p | b64url)
printf '%s.%s.%s' "$header" "$claims" "$sig" > cli_signed.jwt
