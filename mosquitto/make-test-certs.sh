#!/usr/bin/env bash
# Make a throwaway PKI for tests and demos of the brokers in this folder.
#
# usage: mosquitto/make-test-certs.sh OUTDIR [HOSTNAME...]
#
# Writes into OUTDIR (created if missing):
#   ca.pem, ca.key          a test CA (EC P-256, 10 years)
#   server.pem, server.key  a server certificate signed by it, valid for
#                           localhost, 127.0.0.1, ::1 and every HOSTNAME given
#                           (a HOSTNAME that parses as an IPv4/IPv6 address
#                           becomes an IP SAN, anything else a DNS SAN)
#   other-ca.pem, other-ca.key
#                           an unrelated CA, for "client trusts the wrong CA" tests
#
# Idempotent-ish: an existing CA (ca.pem + ca.key) and other CA are kept; the
# server certificate is re-issued on every run, so new HOSTNAMEs are picked up.
# Keys are mode 0644 on purpose: tests run mosquitto as the invoking user and
# these keys protect nothing. NEVER use them in production.
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -lt 1 ]] && exit 64; exit 0
fi

out=$1; shift
mkdir -p "$out"
cd "$out"

umask 022
days_ca=3650
days_leaf=825   # the longest lifetime Apple clients accept for a TLS leaf

make_ca() { # make_ca BASENAME "Common Name"
  local base=$1 cn=$2
  if [[ -s $base.pem && -s $base.key ]]; then
    return 0
  fi
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$base.key" -out "$base.pem" -days "$days_ca" -sha256 \
    -subj "/O=EGGlogU test/CN=$cn" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
}

make_ca ca "EGGlogU test CA"
make_ca other-ca "Unrelated test CA"

# subjectAltName: the loopback names plus whatever the caller passes.
sans="DNS:localhost,IP:127.0.0.1,IP:::1"
is_ip() {
  python3 -c 'import ipaddress,sys; ipaddress.ip_address(sys.argv[1])' "$1" 2>/dev/null
}
for h in "$@"; do
  if is_ip "$h"; then sans+=",IP:$h"; else sans+=",DNS:$h"; fi
done
cn=${1:-localhost}

ext=$(mktemp)
csr=$(mktemp)
trap 'rm -f "$ext" "$csr"' EXIT
cat > "$ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$sans
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF

openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -keyout server.key -out "$csr" -subj "/O=EGGlogU test/CN=$cn" 2>/dev/null
openssl x509 -req -in "$csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out server.pem -days "$days_leaf" -sha256 -extfile "$ext" 2>/dev/null
rm -f ca.srl

chmod 0644 ca.pem ca.key other-ca.pem other-ca.key server.pem server.key
openssl verify -CAfile ca.pem server.pem >/dev/null
echo "make-test-certs: $out: ca.pem server.pem (SAN $sans) other-ca.pem"
