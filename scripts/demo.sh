#!/usr/bin/env bash
# The two-command start, part one: install what is missing, bring up a lab of disposable
# hypervisors on this machine, and run the example playbooks against it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the lab creates network namespaces"; exit 1; }

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
[ -x /usr/sbin/libvirtd ] || missing+=(libvirt-daemon-system)
command -v virsh >/dev/null || missing+=(libvirt-clients)
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
command -v ip >/dev/null || missing+=(iproute2)
command -v iptables >/dev/null || missing+=(iptables)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ! -d node_modules ] || [ ! -f dist/cli/main.js ]; then
  echo "== npm ci (installs and builds kvmnet)"
  npm ci --no-audit --no-fund
fi

kvmnet() { node bin/kvmnet.js "$@"; }
echo "== kvmnet lab up (3 hypervisors in network namespaces, addresses in 198.18.0.0/15)"
kvmnet lab up -n "${HOSTS:-3}" --dir .lab
inv=.lab/inventory.yaml
echo "== what would change (--check --diff)"
kvmnet run playbooks/bridged.yaml -i "$inv" --check --diff || true
echo "== converge"
kvmnet run playbooks/bridged.yaml -i "$inv"
kvmnet run playbooks/nat-network.yaml -i "$inv"
echo "== a second run changes nothing"
kvmnet run playbooks/bridged.yaml -i "$inv"
echo "== facts"
kvmnet facts -i "$inv" --limit hv1
echo
echo "The lab stays up: try  npx kvmnet run playbooks/bridged.yaml -i $inv --check --diff"
echo "When done:             npx kvmnet lab down"
