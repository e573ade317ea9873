# The bond as it was: made again when it is gone; re-created in place when its mode or LACP rate
# changed (they change only on a downed bond without members: they are released here, and the
# lines after this put them back).
want=@@WANTED@@
if ! ip link show dev @@NAME@@ >/dev/null 2>&1; then
  @@ADD@@ && ip link set @@NAME@@ mtu @@MTU@@ 2>/dev/null || true
elif [ "$(cut -d' ' -f1 @@SYS@@/bonding/mode) $(if [ "$(cut -d' ' -f1 @@SYS@@/bonding/mode)" = 802.3ad ]; then cut -d' ' -f1 @@SYS@@/bonding/lacp_rate; else echo -; fi)" != "$want" ]; then
  ip link set @@NAME@@ down
  for m in @@SYS@@/lower_*; do [ -e "$m" ] && ip link set "${m##*/lower_}" nomaster; done
  ip link set @@NAME@@ type bond @@SETTINGS@@
fi 2>/dev/null || true
