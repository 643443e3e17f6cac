#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Throw-away PKI for the interop pair (tests/pair/net.sh has the names),
# made with certtool into DIR:
#   ca.pem                  the CA both hosts trust
#   rpctls.pem/.key         our server: DNS rpctls.test, 198.51.100.1, 2001:db8:5e::1
#   rpctls-client.pem/.key  our client: DNS rpctls-client.test
#   stock.pem/.key          the stock server: DNS stock.test, 198.51.100.2, 2001:db8:5e::2
#   stock-client.pem/.key   the stock client: DNS stock.test
#   stranger.pem/.key       stock.test and rpctls.test signed by a CA nobody trusts
# Server certificates carry serverAuth + id-kp-rpcTLSServer, client
# certificates clientAuth + id-kp-rpcTLSClient.  Keys are mode 0600.
set -euo pipefail
dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

cert() { # out signer-prefix template-lines...  (key: out's name .key)
	local out=$1 ca=$2
	shift 2
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile "$out.key" 2>/dev/null
	printf '%s\n' "$@" 'signing_key' 'expiration_days = 30' >"$out.tmpl"
	if [ "$ca" = self ]; then
		certtool --generate-self-signed --load-privkey "$out.key" --template "$out.tmpl" \
			--outfile "$out.pem" 2>/dev/null
	else
		certtool --generate-certificate --load-privkey "$out.key" --load-ca-certificate "$ca.pem" \
			--load-ca-privkey "$ca.key" --template "$out.tmpl" --outfile "$out.pem" 2>/dev/null
	fi
	rm -f "$out.tmpl"
}
SERVER=('tls_www_server' 'key_purpose_oid = 1.3.6.1.5.5.7.3.34')
CLIENT=('tls_www_client' 'key_purpose_oid = 1.3.6.1.5.5.7.3.33')

cert ca self 'cn = "rpctls interop CA"' 'ca' 'cert_signing_key' 'crl_signing_key'
cert other-ca self 'cn = "untrusted CA"' 'ca' 'cert_signing_key'
cert rpctls ca 'cn = "rpctls.test"' 'serial = 201' 'dns_name = "rpctls.test"' \
	'ip_address = "198.51.100.1"' 'ip_address = "2001:db8:5e::1"' "${SERVER[@]}"
cert rpctls-client ca 'cn = "rpctls-client.test"' 'serial = 202' \
	'dns_name = "rpctls-client.test"' "${CLIENT[@]}"
cert stock ca 'cn = "stock.test"' 'serial = 203' 'dns_name = "stock.test"' \
	'ip_address = "198.51.100.2"' 'ip_address = "2001:db8:5e::2"' "${SERVER[@]}"
cert stock-client ca 'cn = "stock.test"' 'serial = 204' 'dns_name = "stock.test"' "${CLIENT[@]}"
cert stranger other-ca 'cn = "stock.test"' 'serial = 205' 'dns_name = "stock.test"' \
	'dns_name = "rpctls.test"' 'ip_address = "198.51.100.1"' 'ip_address = "198.51.100.2"' \
	"${SERVER[@]}"
chmod 0644 ./*.pem
rm -f other-ca.key
