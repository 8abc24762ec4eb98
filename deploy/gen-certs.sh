#!/bin/sh
# Makes every credential deploy/ needs, into deploy/secrets/ (git-ignored;
# nothing here is ever committed):
#
#   ca.pem, ca.key                  a private CA (keep ca.key offline after this)
#   nats-{1,2,3}.crt/.key           NATS servers: clients and cluster routes
#   gateway.crt/.key                junction gateway: gRPC and REST
#   webhook-adapter.crt/.key        the webhook adapter's public HTTPS listener
#   client.crt/.key                 a client certificate for the CLI (mutual TLS)
#   router.nk, gateway.nk, webhook-adapter.nk
#                                   NATS nkey seeds, one per role (secret)
#   nats-users.env                  their public keys, read by deploy/nats/auth.conf
#
#   deploy/gen-certs.sh                 # everything missing; existing files stay
#   deploy/gen-certs.sh --renew-certs   # new certificates from the same CA
#
# Environment: JUNCTION_PUBLIC_HOSTS (space-separated) adds names to the
# gateway's and the webhook adapter's certificates, e.g. "hooks.example.com";
# JUNCTION_SECRETS_DIR writes elsewhere than deploy/secrets.
# Needs openssl, and `nk` (github.com/nats-io/nkeys/nk) or Go to run it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="${JUNCTION_SECRETS_DIR:-$here/secrets}"
days=825
renew=false
[ "${1:-}" = "--renew-certs" ] && renew=true

mkdir -p "$out"
chmod 700 "$out"
umask 077
cd "$out"

if [ ! -f ca.key ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=Junction deploy CA" \
    -addext "basicConstraints=critical,CA:true,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
  echo "made a CA: $out/ca.pem (ca.key: keep it offline once the certificates are made)"
fi
chmod 644 ca.pem

# issue NAME "DNS:a,DNS:b,IP:1.2.3.4": a P-256 key and a certificate for
# servers and clients (NATS routes use both) signed by the CA.
issue() {
  name=$1 san=$2
  if [ -f "$name.crt" ] && [ "$renew" = false ]; then return; fi
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.key.tmp"
  openssl pkcs8 -topk8 -nocrypt -in "$name.key.tmp" -out "$name.key" && rm -f "$name.key.tmp"
  openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr"
  printf 'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$days" -extfile "$name.ext" -out "$name.crt"
  rm -f "$name.csr" "$name.ext"
  # Readable by the containers' non-root users (65532, nats): the
  # directory stays 0700 for everyone else.
  chmod 644 "$name.crt" "$name.key"
  echo "issued $name.crt for $san"
}

public=""
for h in ${JUNCTION_PUBLIC_HOSTS:-}; do public="$public,DNS:$h"; done

for i in 1 2 3; do
  issue "nats-$i" "DNS:nats-$i,DNS:nats-$i.nats,DNS:nats,DNS:localhost,IP:127.0.0.1"
done
issue gateway "DNS:gateway,DNS:junction-gateway,DNS:junction-gateway.junction.svc,DNS:junction-gateway.junction.svc.cluster.local,DNS:localhost,IP:127.0.0.1$public"
issue webhook-adapter "DNS:webhook-adapter,DNS:junction-webhook-adapter,DNS:junction-webhook-adapter.junction.svc,DNS:localhost,IP:127.0.0.1$public"
issue client "DNS:junction-cli"

# nkeys: one user per role. nk prints the seed, then the public key.
run_nk() {
  if command -v nk >/dev/null 2>&1; then nk "$@"; else
    go -C "$here/.." run github.com/nats-io/nkeys/nk "$@"; fi
}
: > nats-users.env.tmp
for role in router gateway webhook-adapter; do
  if [ ! -f "$role.nk" ]; then
    run_nk -gen user > "$role.nk.tmp"
    mv "$role.nk.tmp" "$role.nk"
    echo "made the nkey seed $role.nk"
  fi
  chmod 644 "$role.nk"
  pub=$(run_nk -inkey "$out/$role.nk" -pubout)
  var=$(echo "JUNCTION_NKEY_$role" | tr 'a-z-' 'A-Z_')
  echo "$var=$pub" >> nats-users.env.tmp
done
mv nats-users.env.tmp nats-users.env
chmod 644 nats-users.env
echo "done: $out"
