# shellcheck shell=bash
# TLS for the proxy benchmarks: one self-signed certificate for every proxy, and each proxy's
# usual way of serving it on the listener peers.sh wrote (HAProxy `ssl crt ... alpn`, nginx
# `listen ... ssl`, Switchyard `protocol: https`), session resumption at each one's default.

# make_bench_cert DIR [KEY]: DIR/server.{crt,key,pem} for localhost and 127.0.0.1, KEY rsa
# (RSA 2048, the default) or ecdsa (ECDSA P-256); curl is pointed at the certificate
# (CURL_CA_BUNDLE); h2load and wrk do not verify.
make_bench_cert() {
  local dir=$1 newkey=(-newkey rsa:2048)
  case "${2:-rsa}" in
    rsa) ;;
    ecdsa) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    *) echo "bench: unknown key type '$2' (rsa, ecdsa)" >&2; exit 2 ;;
  esac
  mkdir -p "$dir"
  openssl req -x509 "${newkey[@]}" -nodes -keyout "$dir/server.key" \
    -out "$dir/server.crt" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$dir/openssl.log" 2>&1
  cat "$dir/server.crt" "$dir/server.key" >"$dir/server.pem"  # HAProxy's crt
  chmod 644 "$dir"/*
  export CURL_CA_BUNDLE=$dir/server.crt
}

# enable_tls TARGET DIR PORT ALPN CERT_DIR: turns TARGET's listener on PORT into TLS offering
# ALPN (a comma-separated list, for HAProxy; nginx and Switchyard offer what their listener
# speaks: add `http2` to nginx's listen line for h2). Every target offers TLS 1.3 (nginx through
# nginx_tls13), so the peers are compared on the same protocol.
enable_tls() {
  local target=$1 dir=$2 port=$3 alpn=$4 certs=$5
  local crt=$certs/server.crt key=$certs/server.key
  case "$target" in
    haproxy)
      sed -i "s|^  bind 127.0.0.1:$port\$|  bind 127.0.0.1:$port ssl crt $certs/server.pem alpn $alpn|" \
        "$dir/haproxy.cfg"
      ;;
    nginx)
      sed -i "s|^    listen 127.0.0.1:$port reuseport\(.*\);|    listen 127.0.0.1:$port ssl reuseport\1;\n    ssl_certificate $crt;\n    ssl_certificate_key $key;|" \
        "$dir/nginx.conf"
      nginx_tls13 "$dir"
      ;;
    switchyard)
      sed -i "s|^    protocol: http\$|    protocol: https\n    tls: { certificate: $crt, private_key: $key }|" \
        "$dir/switchyard.yaml"
      ;;
  esac
  grep -q -e "ssl" -e "https" "$dir"/*.cfg "$dir"/*.conf "$dir"/*.yaml 2>/dev/null || {
    echo "bench: could not turn on TLS for $target in $dir" >&2
    exit 1
  }
}

# nginx_tls13 DIR: nginx offers TLS 1.3 as well. nginx 1.22's default `ssl_protocols` stops at
# TLS 1.2 (1.23.4 added 1.3), while HAProxy 2.6 and Switchyard offer 1.3 by default; a
# handshake comparison needs the same protocol everywhere.
nginx_tls13() {
  sed -i 's|^    ssl_certificate \(.*\);$|    ssl_protocols TLSv1.2 TLSv1.3;\n&|' "$1/nginx.conf"
  grep -q 'ssl_protocols TLSv1.2 TLSv1.3;' "$1/nginx.conf" || {
    echo "bench: could not turn on TLS 1.3 for nginx in $1" >&2
    exit 1
  }
}
