# Which network managers run, and which devices they own (parsed by parseManagers in managers.ts).
echo '@@kvmnet:managers@@'
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo systemd
  # One word per unit (active, inactive, …): split on purpose.
  # shellcheck disable=SC2046
  set -- $(systemctl is-active systemd-networkd.service NetworkManager.service networking.service 2>/dev/null)
  echo "active networkd ${1:-unknown}"; echo "active networkmanager ${2:-unknown}"; echo "active networking ${3:-unknown}"
  [ "$2" = active ] && command -v nmcli >/dev/null 2>&1 && nmcli -t -f DEVICE,TYPE,STATE,CONNECTION device status 2>/dev/null | sed 's/^/nm /'
  [ "$1" = active ] && command -v networkctl >/dev/null 2>&1 && networkctl list --no-legend --no-pager 2>/dev/null | sed 's/^/networkd /'
fi
[ -d /usr/share/ifupdown2 ] && echo ifupdown2
command -v ifup >/dev/null 2>&1 && echo ifup
for f in /etc/netplan/*.yaml /run/netplan/*.yaml /lib/netplan/*.yaml; do
  [ -f "$f" ] || continue
  echo "netplan $f"; sed -n 's/^[[:space:]]*renderer:[[:space:]]*\([A-Za-z]*\).*/renderer \1/p' "$f"
done
for f in /etc/network/interfaces /etc/network/interfaces.d/*; do
  [ -f "$f" ] && sed -n 's/^[[:space:]]*\(auto\|allow-[a-z]*\|iface\)[[:space:]]\{1,\}\(.*\)$/stanza \1 \2/p' "$f"
done
