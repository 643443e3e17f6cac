#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Make throw-away test certificates with certtool into DIR (never commit them):
#   ca.pem/ca.key            test CA
#   server.pem/.key          DNS server.test, localhost; IP 192.0.2.1, 192.0.2.11 (a second
#                            address, for session trunking), fd00::1, fd00:5e::1,
#                            127.0.0.1, ::1; EKUs serverAuth + id-kp-rpcTLSServer
#   client.pem/.key          DNS client.test; EKUs clientAuth + id-kp-rpcTLSClient
#   wild.pem                 DNS *.test only (RFC 9289 forbids wildcards)
#   expired.pem              valid 2020-2021
#   revoked.pem, crl.pem     revoked by the CRL
#   noeku.pem                server names, serverAuth only
#   other-ca.pem, stranger.pem  chain to a CA nobody trusts
#   server-chain.pem         server.pem + ca.pem; all share server.key
#   psk.hex                  a 32-byte PSK in hex
set -euo pipefail
dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"

key() { certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$1" 2>/dev/null; }
tmpl() { printf '%s\n' "$@" > tmpl.cfg; }

key ca.key
tmpl 'cn = "rpctls test CA"' 'ca' 'cert_signing_key' 'crl_signing_key' 'expiration_days = 30'
certtool --generate-self-signed --load-privkey ca.key --template tmpl.cfg --outfile ca.pem 2>/dev/null

key other-ca.key
tmpl 'cn = "untrusted CA"' 'ca' 'cert_signing_key' 'expiration_days = 30'
certtool --generate-self-signed --load-privkey other-ca.key --template tmpl.cfg --outfile other-ca.pem 2>/dev/null

key server.key
key client.key

server_names=('dns_name = "server.test"' 'dns_name = "localhost"' 'ip_address = "192.0.2.1"'
	'ip_address = "192.0.2.11"' 'ip_address = "fd00::1"' 'ip_address = "fd00:5e::1"'
	'ip_address = "127.0.0.1"' 'ip_address = "::1"')
sign() { # out key ca caKey template-lines...
	local out=$1 k=$2 ca=$3 cakey=$4
	shift 4
	tmpl "$@"
	certtool --generate-certificate --load-privkey "$k" --load-ca-certificate "$ca" \
		--load-ca-privkey "$cakey" --template tmpl.cfg --outfile "$out" 2>/dev/null
}
sign server.pem server.key ca.pem ca.key 'cn = "server.test"' 'serial = 101' "${server_names[@]}" \
	'tls_www_server' 'key_purpose_oid = 1.3.6.1.5.5.7.3.34' 'signing_key' 'expiration_days = 30'
sign client.pem client.key ca.pem ca.key 'cn = "client.test"' 'serial = 102' 'dns_name = "client.test"' \
	'tls_www_client' 'key_purpose_oid = 1.3.6.1.5.5.7.3.33' 'signing_key' 'expiration_days = 30'
sign wild.pem server.key ca.pem ca.key 'cn = "server.test"' 'serial = 103' 'dns_name = "*.test"' \
	'tls_www_server' 'signing_key' 'expiration_days = 30'
sign expired.pem server.key ca.pem ca.key 'cn = "server.test"' 'serial = 104' "${server_names[@]}" \
	'tls_www_server' 'signing_key' 'activation_date = "2020-01-01 00:00:00 UTC"' \
	'expiration_date = "2021-01-01 00:00:00 UTC"'
sign revoked.pem server.key ca.pem ca.key 'cn = "server.test"' 'serial = 105' "${server_names[@]}" \
	'tls_www_server' 'signing_key' 'expiration_days = 30'
sign noeku.pem server.key ca.pem ca.key 'cn = "server.test"' 'serial = 106' "${server_names[@]}" \
	'tls_www_server' 'signing_key' 'expiration_days = 30'
sign stranger.pem server.key other-ca.pem other-ca.key 'cn = "server.test"' 'serial = 107' \
	"${server_names[@]}" 'tls_www_server' 'signing_key' 'expiration_days = 30'
sign revoked-client.pem client.key ca.pem ca.key 'cn = "client.test"' 'serial = 108' \
	'dns_name = "client.test"' 'tls_www_client' 'signing_key' 'expiration_days = 30'
sign stranger-client.pem client.key other-ca.pem other-ca.key 'cn = "client.test"' 'serial = 109' \
	'dns_name = "client.test"' 'tls_www_client' 'signing_key' 'expiration_days = 30'

tmpl 'crl_next_update = 30' 'crl_number = 1'
cat revoked.pem revoked-client.pem > revoked-all.pem
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem \
	--load-certificate revoked-all.pem --template tmpl.cfg --outfile crl.pem 2>/dev/null
# an empty CRL, for configurations that name one
certtool --generate-crl --load-ca-privkey ca.key --load-ca-certificate ca.pem \
	--template tmpl.cfg --outfile crl-empty.pem 2>/dev/null
cat server.pem ca.pem > server-chain.pem
for f in server client revoked-client stranger-client; do
	certtool --certificate-info --infile $f.pem --outder --outfile $f.der 2>/dev/null
done
certtool --key-info --infile client.key --outder --outfile client.key.der 2>/dev/null
certtool --key-info --infile server.key --outder --outfile server.key.der 2>/dev/null
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > psk.hex
rm -f tmpl.cfg revoked-all.pem
