#!/bin/sh
# BIND authoritative for fleet.test, with SSHFP records made by ssh-keygen -r from each host's keys.
set -e
apt-get update -q && apt-get install -y -q --no-install-recommends bind9 openssh-client >/dev/null
sleep 5 # let the sshd containers make their keys
zone=/var/lib/bind/fleet.test.zone
{
  echo '$TTL 300'
  echo '@ IN SOA ns.fleet.test. admin.fleet.test. 1 3600 600 86400 300'
  echo '@ IN NS ns.fleet.test.'
  echo 'ns IN A 127.0.0.1'
  for host in web1 web2 clone1 clone2; do
    echo "$host IN A 127.0.0.1"
    for pub in /keys/$host/*.pub; do ssh-keygen -r "$host" -f "$pub"; done
  done
} > "$zone"
cat > /etc/bind/named.conf.local <<CONF
zone "fleet.test" { type master; file "$zone"; };
CONF
exec /usr/sbin/named -g -u bind
