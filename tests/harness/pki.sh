#!/usr/bin/env bash
# PKI for the local control plane: a CA, the API server's serving certificate (IP SAN 127.0.0.1),
# the admin client certificate, the service-account signing key, and on request a client
# certificate for any user and groups (non-admin credentials for least-privilege tests).
#
#   pki.sh init DIR
#   pki.sh user DIR NAME [GROUP...]     -> DIR/users/NAME.{crt,key}
#   pki.sh cluster DIR                  after init, for a control plane with real nodes: re-signs
#                                       the serving certificate with IP SAN 10.96.0.1 (the in-cluster
#                                       `kubernetes` Service, which pods and kubelets dial) and adds
#                                       the API server's kubelet client certificate
set -euo pipefail
umask 077

cmd=$1 dir=$2
shift 2
mkdir -p "$dir"

sign() {  # sign NAME SUBJECT [EXTFILE]
  local name=$1 subject=$2 ext=${3:-}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 365 -out "$dir/$name.crt" ${ext:+-extfile "$ext"} 2>/dev/null
  rm -f "$dir/$name.csr"
}

case $cmd in
  init)
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$dir/ca.key" -subj "/CN=zhisuan-local-ca" -days 365 -out "$dir/ca.crt" 2>/dev/null
    cat > "$dir/serving.ext" <<EXT
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kubernetes.default.svc
extendedKeyUsage = serverAuth
EXT
    sign apiserver "/CN=kube-apiserver" "$dir/serving.ext"
    cat > "$dir/client.ext" <<EXT
extendedKeyUsage = clientAuth
EXT
    sign admin "/O=system:masters/CN=zhisuan-admin" "$dir/client.ext"
    openssl ecparam -name prime256v1 -genkey -noout -out "$dir/sa.key" 2>/dev/null
    openssl ec -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
    ;;
  cluster)
    cat > "$dir/serving.ext" <<EXT
subjectAltName = IP:127.0.0.1, IP:10.96.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc
extendedKeyUsage = serverAuth
EXT
    sign apiserver "/CN=kube-apiserver" "$dir/serving.ext"
    sign kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$dir/client.ext"
    ;;
  user)
    name=$1
    shift
    subject=""
    for g in "$@"; do subject+="/O=$g"; done
    mkdir -p "$dir/users"
    sign "users/$name" "$subject/CN=$name" "$dir/client.ext"
    ;;
  *)
    echo "usage: pki.sh init DIR | pki.sh cluster DIR | pki.sh user DIR NAME [GROUP...]" >&2
    exit 2
    ;;
esac
