br=$(virsh -q net-info @@NETWORK@@ | sed -n 's/^Bridge:[[:space:]]*//p')
failed=
# shellcheck disable=SC2043 # @@TAPS@@ becomes the tap=guest words, one per tap
for p in @@TAPS@@; do
  t=${p%%=*}; g=${p#*=}
  if e=$(ip link set dev "$t" master "$br" 2>&1 && ip link set dev "$t" up 2>&1) && l=$(ip -o link show dev "$t" 2>&1) && case "$l" in *" master $br "*) :;; *) false;; esac && case "$l" in *"<UP"*|*",UP"*) :;; *) false;; esac; then :
  else failed="$failed${failed:+, }$t (guest $g${e:+: $e})"; fi
done
if [ -n "$failed" ]; then echo network @@NETWORK@@ 'restarted, but guest interfaces could not be re-attached to' "$br: $failed" >&2; exit 1; fi
