#!/usr/bin/env bash
# Three trust situations as a person sees them in the terminal, against real sshd on 127.98.1.1:2222
# (loopback only; root, for sshd): a family swap after an imported baseline, a revoked key, and an
# accept after a rebuild onto a weak key. BIN is bin/hostkeys.js of the build to show, TAG a label:
#   bash dev/trust-situations.sh bin/hostkeys.js AFTER
set -u
BIN=$1; TAG=$2
W=$(mktemp -d /tmp/hk-demo-XXXX); DB=$W/db
hk() { echo "\$ hostkeys $*" | sed "s#$W#\$W#g"; node "$BIN" "$@" --db "$DB" 2>&1 | sed "s#$W#\$W#g"; echo "[exit ${PIPESTATUS[0]}]"; }
mkdir -p /run/sshd
keys() { mkdir -p "$1"; for t in "${@:2}"; do [ -f "$1/$t" ] || ssh-keygen -q -t "$t" -N '' -f "$1/$t" $( [ "$t" = rsa ] && echo -b 2048 ); done; }
sshd_on() { # dir addr port keytypes...
  local d=$1 a=$2 p=$3; shift 3; keys "$d" "$@"
  { echo "Port $p"; echo "ListenAddress $a"; for t in "$@"; do echo "HostKey $d/$t"; done; echo "PidFile $d/pid"; echo "UsePAM no"; } > "$d/cfg"
  /usr/sbin/sshd -f "$d/cfg" -E "$d/log"; sleep 0.5
}
stop() { kill "$(cat "$1/pid")"; sleep 0.3; }
A=127.98.1.1; P=2222
echo "===== $TAG: 1. family swap after an imported baseline"
sshd_on $W/real $A $P ed25519
echo "[$A]:$P $(cut -d' ' -f1,2 $W/real/ed25519.pub)" > $W/known_hosts
hk import known_hosts $W/known_hosts
stop $W/real; sshd_on $W/mitm $A $P rsa
hk scan "[$A]:$P" --no-dns -T 5
hk known-hosts
hk history "[$A]:$P"
stop $W/mitm
echo "===== $TAG: 3. a revoked key"
sshd_on $W/real $A $P ed25519
echo "@revoked * $(cut -d' ' -f1,2 $W/real/ed25519.pub)" > $W/revoked
hk import known_hosts $W/revoked
hk scan "[$A]:$P" --no-dns -T 5
hk known-hosts
echo "===== $TAG: 4. accept after a rebuild with a 1024-bit RSA key"
stop $W/real; mkdir -p $W/weak; ssh-keygen -q -t rsa -b 1024 -N '' -f $W/weak/rsa; sshd_on $W/weak $A $P rsa
hk scan "[$A]:$P" --no-dns -T 5
hk accept "[$A]:$P" --reason rebuilt
hk scan "[$A]:$P" --no-dns -T 5
stop $W/weak
rm -rf $W
