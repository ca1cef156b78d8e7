#!/usr/bin/env bash
# ci/check-layers.sh: the layering check of `make test` (rules and known violations: ci/layers.txt).
# Reads every module's <module>_DEPS / <module>_TEST_DEPS from its module.mk and every `#include "DIR/..."`
# of its .c/.h files (tests, itests and benches included) and fails, naming the file, the include and the
# rule, when a module includes a module it does not depend on or may not depend on, or when a module.mk
# declares a dependency that breaks the layer order. Usage: ci/check-layers.sh [REPO_ROOT]
set -uo pipefail
cd "${1:-.}" || exit 2
spec=ci/layers.txt
[ -r "$spec" ] || { echo "check-layers: $spec not found" >&2; exit 2; }

declare -A layer=() sees=() helper=() allow=() used=() deps=() tdeps=()
mods=()
nl=0
while read -r kw a rest; do
    case $kw in
    '' | '#'*) ;;
    layer)
        nl=$((nl + 1))
        for m in $a ${rest%%#*}; do layer[$m]=$nl; mods+=("$m"); done ;;
    sees) sees[$a]=" ${rest%%#*} " ;;
    test-helper) helper[$a]=1 ;;
    allow)
        to=${rest%%#*}; to=${to// /}; why=${rest#*#}
        if [ -z "$to" ] || [ "$why" = "$rest" ]; then echo "check-layers: $spec: 'allow $a $rest' needs a module and a '# reason'" >&2; exit 2; fi
        allow["$a $to"]=1 ;;
    *) echo "check-layers: $spec: unknown directive '$kw'" >&2; exit 2 ;;
    esac
done <"$spec"

fail=0
err() { echo "check-layers: $*" >&2; fail=1; }

# every module of the Makefile has a layer (cmd has no module.mk: it is the top)
for m in $(sed -n 's/^MODULES *:= *//p' Makefile); do
    [ -n "${layer[$m]:-}" ] || err "Makefile: module $m has no layer in $spec (add it to the layer it belongs to)"
done

# mk_var MODULE VAR: the words of MODULE/module.mk's VAR (:=, = or += lines)
mk_var() { [ -r "$1/module.mk" ] && sed -nE "s/^[[:space:]]*$2[[:space:]]*[:+]?=[[:space:]]*//p" "$1/module.mk" | tr '\n' ' '; }

# legal FROM TO [peer]: sets why: the rule FROM depending on TO breaks ("" when it may). With peer (what a
# test may use: its independent peers and the code it covers), a sibling and any lower module are allowed.
legal() {
    local f=$1 t=$2 lf=${layer[$1]} lt=${layer[$2]:-}
    why=
    if [ -z "$lt" ]; then
        why="$t is not a module of $spec"
    elif [ "$lt" -gt "$lf" ]; then
        why="$t (layer $lt) is above $f (layer $lf): a back edge"
    elif [ "$lt" -eq "$lf" ] && [ "$t" != "$f" ] && [ -z "${3:-}" ]; then
        why="$t and $f are siblings (layer $lf), which never depend on each other"
    elif [ -z "${3:-}" ] && [ -n "${sees[$f]:-}" ] && [ "$lt" -lt "$lf" ] && [[ ${sees[$f]} != *" $t "* ]]; then
        why="$f sees only${sees[$f]% }"
    fi
}

# the declared dependencies follow the layer order
for m in "${mods[@]}"; do
    [ "$m" = cmd ] && continue
    deps[$m]=" core $(mk_var "$m" "${m}_DEPS") "
    tdeps[$m]=" $(mk_var "$m" "${m}_TEST_DEPS") "
    for d in ${deps[$m]}; do
        [ "$d" = core ] && continue
        legal "$m" "$d"
        [ -z "$why" ] && continue
        if [ -n "${allow["${m}_DEPS $d"]:-}" ]; then used["${m}_DEPS $d"]=1; continue; fi
        err "$m/module.mk: ${m}_DEPS names $d, which breaks the layer order: $why ($spec)"
    done
    for d in ${tdeps[$m]}; do
        legal "$m" "$d" peer
        [ -z "$why" ] && continue
        if [ -n "${allow["${m}_TEST_DEPS $d"]:-}" ]; then used["${m}_TEST_DEPS $d"]=1; continue; fi
        err "$m/module.mk: ${m}_TEST_DEPS names $d, which breaks the layer order: $why ($spec)"
    done
done

# every include of another module is declared and legal
dirs=()
for m in "${mods[@]}"; do [ -d "$m" ] && dirs+=("$m"); done
nincl=0
while IFS=: read -r file line inc; do
    m=${file%%/*}
    [[ $inc =~ \"([^\"]+)\" ]] || continue
    path=${BASH_REMATCH[1]}
    to=${path%%/*}
    nincl=$((nincl + 1))
    [ "$to" = "$m" ] && continue
    [ -z "${layer[$to]:-}" ] && [ -z "${helper[$to]:-}" ] && [ ! -d "$to" ] && continue # not a folder of ours
    is_test=; [[ $file == */tests/* || $file == */itests/* ]] && is_test=1
    if [ -n "${allow["$file $to"]:-}" ]; then used["$file $to"]=1; continue; fi
    where="$file:$line: #include \"$path\""
    if [ -n "${helper[$to]:-}" ]; then
        [ -n "$is_test" ] || err "$where: $to/ is test support ($spec: test-helper); only tests include it"
        continue
    fi
    if [ -z "${layer[$to]:-}" ]; then err "$where: $to/ is not a module of $spec"; continue; fi
    if [ "$m" = cmd ]; then
        legal cmd "$to"
        [ -z "$why" ] || err "$where: cmd may not include $to: $why ($spec)"
        continue
    fi
    declared=${deps[$m]}; [ -n "$is_test" ] && declared+="${tdeps[$m]} "
    legal "$m" "$to" ${is_test:+peer}
    if [ -n "$why" ]; then
        err "$where: $m may not include $to: $why ($spec)"
    elif [[ $declared != *" $to "* ]]; then
        err "$where: $m includes $to but does not depend on it: add $to to ${m}_$([ -n "$is_test" ] && [[ ${deps[$m]} != *" $to "* ]] && echo TEST_)DEPS in $m/module.mk"
    fi
done < <(grep -rnE --include='*.c' --include='*.h' '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^/"]+/' "${dirs[@]}")

# known violations that no longer occur
for k in "${!allow[@]}"; do
    [ -n "${used[$k]:-}" ] || echo "check-layers: note: $spec: 'allow $k' no longer excuses anything; remove it" >&2
done

if [ $fail = 0 ]; then
    echo "check-layers: ok: ${#mods[@]} modules in $nl layers, $nincl includes of module folders, ${#used[@]} known violations allowed by $spec"
fi
exit $fail
