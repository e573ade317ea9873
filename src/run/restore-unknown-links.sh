# A command's effect is unknown: virtual links that did not exist before go first.
known=@@KNOWN@@
for t in bridge bond vlan dummy macvlan vxlan; do ip -o link show type "$t" 2>/dev/null | while IFS=': ' read -r _ n _; do n=${n%%@*}; case "$known" in *" $n "*) ;; *) ip link del "$n" 2>/dev/null || true;; esac; done; done
