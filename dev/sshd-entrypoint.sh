#!/bin/sh
# An OpenSSH server whose host keys live in /keys (a volume), made on first start.
set -e
apt-get update -q && apt-get install -y -q --no-install-recommends openssh-server >/dev/null
mkdir -p /run/sshd
for type in ed25519 ecdsa rsa; do
  [ -f "/keys/ssh_host_${type}_key" ] || ssh-keygen -q -t "$type" -N '' -f "/keys/ssh_host_${type}_key"
done
exec /usr/sbin/sshd -D -e \
  -o HostKey=/keys/ssh_host_ed25519_key -o HostKey=/keys/ssh_host_ecdsa_key -o HostKey=/keys/ssh_host_rsa_key
