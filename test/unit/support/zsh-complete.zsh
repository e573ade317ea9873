# Completes a command line in a real interactive zsh (driven through zsh/zpty) with the completion
# functions of directory $1 in $fpath, and prints every match the completion system adds, one per
# line, to file $3. Usage: zsh -f zsh-complete.zsh COMPLETION_DIR 'kvmnet doc ensure_b' OUT_FILE
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1=''; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
# compadd is what every completion function ends in: record its matches (-O), then add them as usual.
# A call with -O, -A or -D only computes matches into an array (_describe does that first): not an offer.
zpty -w z 'compadd () { if (( ${@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi; local -a __m; builtin compadd -O __m "$@"; (( ${#__m} )) && print -rl -- ${^__m} >&2; builtin compadd "$@"; }'
zpty -w z 'comppostfuncs=(__done); __done() { print -r -- "<done>" >&2; }'
zpty -w z "exec 2>$3"
zpty -w -n z "$2"$'\t'
# Wait until the completion has run (or give up after 10 s).
for i in {1..100}; do
  grep -q '<done>' $3 2>/dev/null && break
  sleep 0.1
done
zpty -d z
