printf '%s' @@XML@@ | virsh -q detach-device @@DOMAIN@@ /dev/stdin @@FLAGS@@ >/dev/null
# A live detach is done when the guest lets the device go (its OS acknowledges the unplug): wait for that.
n=0
while virsh -q domiflist @@DOMAIN@@ 2>/dev/null | grep -qi -- @@MAC@@; do
  n=$((n + 1))
  if [ "$n" -gt 120 ]; then
    echo guest @@DOMAIN@@ 'has not released NIC' @@MAC@@ 'after 60 s: its OS did not acknowledge the unplug (a guest without ACPI hotplug keeps the device)' >&2
    exit 1
  fi
  sleep 0.5
done
