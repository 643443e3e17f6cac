#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo, inside the VM (tests/demo.sh boots it): NFS over TLS end to end.
#
#   1. Two test hosts (tests/lib/netns.sh), a throw-away CA and certificates,
#      tlshd in both hosts (tests/lib/tlshd.sh), nfsd exporting /srv/export,
#      the mount helper installed as /sbin/mount.nfs.
#   2. Three mounts at once, tcpdump running on the server's veth:
#      xprtsec=tls, xprtsec=mtls with a per-mount identity (tlscert=/tlskey=,
#      a certificate the client's agent is not configured with), and a
#      plaintext control mount.  A file carrying a marker string is written
#      through each, checked on the server, read back over the wire (page
#      cache dropped, READs counted) and checked again.
#   3. The evidence: mount options, rpctls status, both agents' log lines,
#      kTLS counters, the capture summarised (tests/mount-helper/pcap-summary.py):
#      TLS records on the TLS connections, the marker only in the plaintext one.
#   4. Throughput with and without TLS, side by side in this VM, next to the
#      AES-GCM speed of user space in the same VM (qemu TCG: the emulator,
#      not the protocol, sets these figures).
#   5. One VERDICT line; exit 0 only when every check held.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/hosts.sh

W=/tmp/demo
MARKER=RPCTLS-DEMO-SECRET-4b1d
SIZE_MB=${RPCTLS_DEMO_MB:-32}
R=build/bin/rpctls
problems=()
limits=()
mkdir -p "$W"
dmesg -n 1 2>/dev/null

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
bad() { problems+=("$*"); printf '   PROBLEM: %s\n' "$*"; }
# limit: a known gap of the current code, said plainly, not hidden
limit() { limits+=("$*"); printf '   NOT YET: %s\n' "$*"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
sha() { sha256sum <"$1" | cut -c1-16; }
dump_pid=
cleanup() {
	[ -z "$dump_pid" ] || kill "$dump_pid" 2>/dev/null
	for m in /mnt/demo-*; do mountpoint -q "$m" && umount -f "$m" 2>/dev/null; done
	tlshd_stop_all
	nfsd_stop
}
trap cleanup EXIT

t0=$(date +%s%N)
say "NFS over TLS (RFC 9289): kernel $(uname -r), qemu TCG, kTLS $(grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp && echo available || echo MISSING)"
netns_setup || { echo "VERDICT: FAIL: the test hosts did not come up"; exit 1; }
note "hosts: server.test ($SERVER_IP4) <-> client.test ($CLIENT_IP4), one veth pair"
tlshd_pki "$W/pki" || { echo "VERDICT: FAIL: making the certificates failed"; exit 1; }
# The per-mount identity: a certificate of its own, which the client's
# agent is not configured with, so the server's log can only show it when
# tlscert=/tlskey= reached the handshake.
(
	cd "$W/pki" &&
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile demo-user.key &&
	printf '%s\n' 'cn = "demo-user.client.test"' 'dns_name = "demo-user.client.test"' 'serial = 201' \
		'tls_www_client' 'key_purpose_oid = 1.3.6.1.5.5.7.3.33' 'signing_key' \
		'expiration_days = 2' >demo-user.cfg &&
	certtool --generate-certificate --load-privkey demo-user.key --load-ca-certificate ca.pem \
		--load-ca-privkey ca.key --template demo-user.cfg --outfile demo-user.pem
) >"$W/certs.log" 2>&1 || { echo "VERDICT: FAIL: certtool: $(tail -2 "$W/certs.log")"; exit 1; }
note "PKI: CA 'rpctls test CA'; server.test; client.test (agent default); demo-user.client.test (per mount)"
if tlshd_start server && tlshd_start client; then
	note "tlshd listening in both hosts ($(build/bin/tlshd --version 2>/dev/null | head -1 || echo tlshd))"
else
	echo "VERDICT: FAIL: tlshd did not start"; exit 1
fi
nfsd_start >"$W/nfsd.log" 2>&1 || { echo "VERDICT: FAIL: nfsd: $(tail -2 "$W/nfsd.log")"; exit 1; }
# The export's TLS policy (exports(5) xprtsec=; Debian's mountd 2.6.2 cannot
# send it, so through nfsd's table, as rpctls-exports(8) does: xprtsec_policy,
# tests/lib/nfs.sh).
if xprtsec_policy tls:mtls 2>"$W/policy.err"; then
	note "nfsd exports $NFSD_EXPORT with xprtsec=tls:mtls (TLS only)"
else
	echo "VERDICT: FAIL: cannot set the export's TLS policy: $(cat "$W/policy.err")"; exit 1
fi
make -s -C mount-helper install >"$W/install.log" 2>&1 &&
	[ "$(readlink /sbin/mount.nfs)" = /usr/sbin/rpctls-mount ] ||
	{ echo "VERDICT: FAIL: mount helper install: $(tail -2 "$W/install.log")"; exit 1; }
export RPCTLS_TLSHD_CONF=$W/pki/client.conf
note "mount helper: /sbin/mount.nfs -> rpctls-mount (the real one diverted)"

# --- 2. three mounts, one capture ---------------------------------------------
head -c $((1 << 20)) /dev/urandom >"$W/report.bin"
for _ in $(seq 200); do echo "$MARKER"; done >>"$W/report.bin"
nsenter --net=/run/netns/server tcpdump -i veth-s -U -s 0 -w "$W/demo.pcap" tcp port 2049 \
	>"$W/tcpdump.log" 2>&1 &
dump_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$W/tcpdump.log" && break; sleep 0.1; done

declare -A OPTS=(
	[tls]="vers=4.2,xprtsec=tls"
	[mtls]="vers=4.2,xprtsec=mtls,tlscert=$W/pki/demo-user.pem,tlskey=$W/pki/demo-user.key"
	[plain]="vers=4.2"
)
want=$(sha "$W/report.bin")
say "mount, copy a 1 MiB file with a marker string in it, read it back over the wire"
for m in none tls mtls plain; do
	mnt=/mnt/demo-$m
	if [ "$m" = none ]; then
		mkdir -p "$mnt"
		echo "   mount -t nfs4 -o vers=4.2,xprtsec=none server.test:$NFSD_EXPORT $mnt   (the export is TLS only)"
		if out=$(in_ns client mount -t nfs4 -o vers=4.2,xprtsec=none "server.test:$NFSD_EXPORT" "$mnt" 2>&1); then
			bad "a plaintext mount of a TLS-only export succeeded"
			umount "$mnt"
		elif ! grep -q "WRONGSEC" <<<"$out"; then
			bad "the refused plaintext mount was not explained: $out"
		fi
		grep -o "cause: .*" <<<"$out" | sed 's/^/   refused: /'
		xprtsec_policy none:tls:mtls
		note "export opened to plaintext too (xprtsec=none:tls:mtls), for the control mount below"
		continue
	fi
	mkdir -p "$mnt"
	echo "   mount -t nfs4 -o ${OPTS[$m]//$W\/pki\//} server.test:$NFSD_EXPORT $mnt"
	s=$(date +%s%N)
	if ! out=$(in_ns client mount -t nfs4 -o "${OPTS[$m]}" "server.test:$NFSD_EXPORT" "$mnt" 2>&1); then
		bad "$m mount failed: $out"
		continue
	fi
	grep -q " $mnt nfs4 " /proc/mounts || { bad "$mnt is not an NFS mount"; continue; }
	mt=$(ms_since "$s")
	cp "$W/report.bin" "$mnt/report-$m.bin" && sync "$mnt/report-$m.bin" || bad "$m: write failed"
	srv=$(sha "$NFSD_EXPORT/report-$m.bin")
	echo 3 >/proc/sys/vm/drop_caches
	r0=$(nfs_reads "$mnt")
	if back=$(timeout -s KILL 60 cat "$mnt/report-$m.bin" 2>"$W/read-$m.err" | sha256sum | cut -c1-16) &&
		[ ! -s "$W/read-$m.err" ]; then
		rerr=
	else
		rerr=$(sed 's/^cat: //; s/^.*: //' "$W/read-$m.err" | head -1)
		back="(read failed: ${rerr:-killed after 60 s})"
	fi
	r1=$(nfs_reads "$mnt")
	if [ "$srv" != "$want" ]; then
		bad "$m: the server's copy differs ($srv, sent $want)"
	elif [ -n "$rerr" ] && [ "$m" != plain ]; then
		limit "$m: reading the file back over kTLS fails ($rerr): a known client bug, being fixed; checked on the server instead"
	elif [ "$back" != "$want" ]; then
		bad "$m: the file read back differs ($back)"
	elif [ "$(( ${r1:-0} - ${r0:-0} ))" -lt 1 ]; then
		bad "$m: no READ crossed the wire"
	fi
	note "mounted in $mt ms; sha256 sent $want, on server $srv, read back $back ($(( ${r1:-0} - ${r0:-0} )) READs)"
done

say "mount options (/proc/mounts)"
for m in tls mtls plain; do
	grep " /mnt/demo-$m " /proc/mounts | awk '{ print $2 }' | tr '\n' ' '
	grep " /mnt/demo-$m " /proc/mounts | awk '{ print $4 }' | tr ',' '\n' |
		grep -E '^(vers|xprtsec|cert_serial|privkey_serial|addr)=' | tr '\n' ' '
	echo
done | sed 's/^/   /'
grep -q " /mnt/demo-tls .*xprtsec=tls" /proc/mounts || bad "/mnt/demo-tls lacks xprtsec=tls"
grep -q " /mnt/demo-mtls .*xprtsec=mtls.*cert_serial=" /proc/mounts ||
	bad "/mnt/demo-mtls lacks xprtsec=mtls with cert_serial="

say "rpctls status (mounts; agent counters of the two hosts)"
$R status >"$W/status.out" 2>&1
awk '/^  [^ ].* on \/mnt\/demo-/ { show = 1; print; next }
     /^  / && !/^    / { show = 0 }
     show && /security mode|TLS version|cipher|connections|client identity/' "$W/status.out" |
	sed 's/^/ /; s/  */ /g'
for ns in server client; do
	printf '   agent in %-6s ' "$ns:"
	in_ns "$ns" cat /proc/net/tlsh | awk '$1 ~ /^(requests|succeeded|failed|timed_out)$/ { printf "%s %s  ", $1, $2 } END { print "" }'
done
grep -q "security mode: *xprtsec=mtls" "$W/status.out" || bad "status does not show the mtls mount"

say "agent log lines (tlshd, one per handshake)"
for ns in client server; do
	grep -o 'handshake req=.*' "$W/pki/tlshd-$ns.log" |
		sed -E 's/^handshake //; s/ (req|status|peerid|auth|name)=[^ ]*//g; s/ duration_ms=([0-9]*)/ \1ms/' |
		sed "s/^/   $ns: /"
done
grep -q 'result=ok.*version=TLS1.3.*subject="[^"]*demo-user.client.test' "$W/pki/tlshd-server.log" ||
	bad "the server's agent did not see the per-mount certificate demo-user.client.test"
tls_ok=$(grep -c 'type=client.*result=ok' "$W/pki/tlshd-client.log")
[ "$tls_ok" -ge 2 ] || bad "the client's agent logged $tls_ok good handshakes, want 2 (tls, mtls)"
note "kTLS in the client host: $(in_ns client awk '$1 ~ /^TlsCurr(Tx|Rx)Sw$/ { printf "%s %s ", $1, $2 }' /proc/net/tls_stat)"

for m in tls mtls plain; do timeout 30 umount "/mnt/demo-$m" 2>/dev/null || bad "umount /mnt/demo-$m failed"; done
sleep 0.5
kill -INT "$dump_pid" 2>/dev/null; wait "$dump_pid" 2>/dev/null; dump_pid=

say "packet capture on the server's veth (tcpdump, port 2049), marker '$MARKER'"
python3 tests/mount-helper/pcap-summary.py --marker "$MARKER" "$W/demo.pcap" >"$W/pcap.txt" 2>&1 ||
	bad "pcap-summary: $(tail -1 "$W/pcap.txt")"
note "connections in order of appearance; on a TLS one, the 2 RPC records in clear are the probe and its STARTTLS reply"
grep -v '^total' "$W/pcap.txt" | sed 's/^/   /'
eval "$(awk '/^total:/ { for (i = 2; i < NF; i += 2) printf "%s=%s\n", $i, $(i + 1) }' "$W/pcap.txt")"
note "marker on the wire: $marker_in_tls times in the $tls_connections TLS connections, $marker_in_plain in the plaintext control (written + read)"
[ "${tls_connections:-0}" -ge 2 ] || bad "the capture holds ${tls_connections:-0} TLS connections, want 2"
[ "${marker_in_tls:-1}" = 0 ] || bad "the marker crossed the wire in clear on a TLS connection"
[ "${marker_in_plain:-0}" -ge 1 ] || bad "the capture missed the marker in the plaintext control mount"
[ "${gaps:-1}" = 0 ] || bad "the capture has gaps"

# --- 4. throughput --------------------------------------------------------------
say "throughput, $SIZE_MB MiB written (fsync) and read back (cache dropped), same VM"
head -c $((SIZE_MB << 20)) /dev/urandom >"$W/bulk.bin"
bwant=$(sha "$W/bulk.bin")
declare -A WR RD
for m in plain tls; do
	mnt=/mnt/demo-$m
	o=vers=4.2
	[ "$m" = tls ] && o=vers=4.2,xprtsec=tls
	in_ns client mount -t nfs4 -o "$o" "server.test:$NFSD_EXPORT" "$mnt" || { bad "$m: bulk mount failed"; continue; }
	s=$(date +%s%N)
	dd if="$W/bulk.bin" of="$mnt/bulk-$m.bin" bs=1M conv=fsync status=none || bad "$m: bulk write failed"
	WR[$m]=$(( SIZE_MB * 1048576 * 1000000 / ($(date +%s%N) - s) ))
	echo 3 >/proc/sys/vm/drop_caches
	s=$(date +%s%N)
	if timeout -s KILL 120 dd if="$mnt/bulk-$m.bin" of=/dev/null bs=1M status=none 2>"$W/bulk-$m.err"; then
		RD[$m]=$(( SIZE_MB * 1048576 * 1000000 / ($(date +%s%N) - s) ))
		[ "$(sha "$mnt/bulk-$m.bin")" = "$bwant" ] || bad "$m: the bulk file read back differs"
	elif [ "$m" = tls ]; then
		RD[$m]=failed
		limit "TLS bulk read: $(sed 's/^dd: //' "$W/bulk-$m.err" | head -1) (the known kTLS READ bug)"
	else
		bad "$m: bulk read failed: $(head -1 "$W/bulk-$m.err")"
	fi
	[ "$(sha "$NFSD_EXPORT/bulk-$m.bin")" = "$bwant" ] || bad "$m: the server's bulk copy differs"
	rm -f "$mnt/bulk-$m.bin"
	timeout 30 umount "$mnt" || bad "umount $mnt failed"
done
aes=$(openssl speed -seconds 1 -bytes 16384 -evp aes-256-gcm 2>/dev/null |
	awk '/^AES-256-GCM/ { sub("k", "", $2); printf "%d", $2 / 1000 }')
printf '   %-22s %12s %12s\n' "" "write MB/s" "read MB/s"
mbs() { [[ "$1" =~ ^[0-9]+$ ]] && echo "$(( $1 / 1000 )).$(( $1 % 1000 / 100 ))" || echo "${1:--}"; }
printf '   %-22s %12s %12s\n' "plaintext" "$(mbs "${WR[plain]}")" "$(mbs "${RD[plain]}")"
printf '   %-22s %12s %12s\n' "TLS 1.3 (kTLS)" "$(mbs "${WR[tls]}")" "$(mbs "${RD[tls]}")"
pct() { [[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[1-9][0-9]*$ ]] && echo "$(( 100 * $1 / $2 ))%" || echo "-"; }
printf '   %-22s %12s %12s\n' "TLS / plaintext" "$(pct "${WR[tls]}" "${WR[plain]}")" "$(pct "${RD[tls]}" "${RD[plain]}")"
note "AES-256-GCM in user space in this VM: ${aes:-?} MB/s: qemu TCG emulates every instruction, so these"
note "figures measure the emulator; the ratio, not the MB/s, is the result"

total=$(( $(date +%s%N) - t0 ))
echo
secs=$(( total / 1000000000 ))
if [ ${#problems[@]} -eq 0 ] && [ ${#limits[@]} -eq 0 ]; then
	echo "VERDICT: PASS: NFSv4.2 over TLS 1.3 (tls, and mtls with a per-mount certificate): files written and read back intact, no plaintext on the wire, TLS writes at $(pct "${WR[tls]}" "${WR[plain]}") of plaintext speed in this VM (${secs} s)"
	exit 0
fi
if [ ${#problems[@]} -eq 0 ]; then
	echo "VERDICT: PARTIAL: NFSv4.2 over TLS 1.3 (tls, and mtls with a per-mount certificate) writes intact (checked on the server), no plaintext on the wire, TLS writes at $(pct "${WR[tls]}" "${WR[plain]}") of plaintext speed; NOT YET: reading back over kTLS fails (${secs} s)"
	exit 3
fi
echo "VERDICT: FAIL: ${#problems[@]} problem(s), first: ${problems[0]}"
exit 1
