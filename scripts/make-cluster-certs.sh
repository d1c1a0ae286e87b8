#!/usr/bin/env bash
# Makes a cluster CA and one certificate per node for Strata's node-to-node
# TLS (docs/cluster.md, "Node-to-node security") with the openssl command line:
#
#   scripts/make-cluster-certs.sh DIR NAME=SAN [NAME=SAN ...]
#
# DIR/ca.crt and DIR/ca.key (the cluster CA) are made once and kept when
# present. Each NAME gets DIR/NAME.crt, signed by that CA, and DIR/NAME.key
# (EC P-256, unencrypted, mode 600). SAN is the certificate's subjectAltName:
# the host the other nodes dial (--advertise-host), e.g. node1=IP:10.0.0.1 or
# node2=DNS:node2.example.com,IP:10.0.0.2. Certificates last
# $STRATA_CERT_DAYS days (default 825).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [NAME=SAN ...]" >&2
  exit 2
fi
dir=$1
shift
days=${STRATA_CERT_DAYS:-825}
mkdir -p "$dir"
cd "$dir"

cat > ca.cnf <<'CONF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
CONF

if [ ! -f ca.crt ]; then
  openssl req -x509 -config ca.cnf -extensions ca -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.crt -days 3650 -subj /CN=strata-cluster-ca
  chmod 600 ca.key
fi

for spec in "$@"; do
  name=${spec%%=*}
  san=${spec#*=}
  if [ "$name" = "$spec" ] || [ -z "$name" ] || [ -z "$san" ]; then
    echo "$spec: expected NAME=SAN, e.g. node1=IP:10.0.0.1" >&2
    exit 2
  fi
  printf 'basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = %s\n' \
      "$san" > "$name.ext"
  openssl req -config ca.cnf -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
      -extfile "$name.ext" -out "$name.crt"
  chmod 600 "$name.key"
  rm -f "$name.csr" "$name.ext"
done
