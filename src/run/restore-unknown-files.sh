# kvmnet's persistence files that the change added are removed.
known=@@KNOWN@@
for f in @@NETWORKD_DIR@@/10-kvmnet-* @@NETWORKD_DIR@@/10-kvmnet-*.network.d/* @@IFUPDOWN_DIR@@/kvmnet-*; do [ -f "$f" ] || continue; case "$known" in *" $f "*) ;; *) rm -f "$f";; esac; done
