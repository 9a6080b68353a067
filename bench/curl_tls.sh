#!/bin/sh
# libcurl's TLS flavours side by side: one poller per flavour (bench/curl_tls.c)
# GETs /stats/summary of the v1.34 capture over verified HTTPS 20 times on one
# handle, then reports its PSS and private memory. The collectors link the
# cheapest one that does the job (docs/PERFORMANCE.md).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/plain/bench
fx=${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34
tmp=$(mktemp -d)
rp=""
trap '[ -n "$rp" ] && kill $rp 2>/dev/null; rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
"$top/bin/kubelet-replay" --dir "$fx" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" >"$tmp/url" 2>/dev/null &
rp=$!
until [ -s "$tmp/url" ]; do sleep 0.05; done
url=$(head -n1 "$tmp/url")/stats/summary
echo "libcurl TLS flavours, 20 verified HTTPS polls of a 98 KB body on one handle:"
for f in openssl gnutls nss; do
	printf "  %-8s " "$f"
	"$out/curl_tls-$f" "$url" "$tmp/cert.pem" 20 || echo "(failed)"
done
