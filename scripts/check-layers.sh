#!/bin/sh
# check-layers: the call graph between corscope's source files, from the
# symbols their object files define and use (nm), must have no cycle and no
# edge the layering forbids.  Usage: scripts/check-layers.sh BUILD_DIR
# (the object files of src/ sit in BUILD_DIR with src/'s folder layout).
# With -v, prints the file graph (caller -> callee) too.
#
# Layers (design.md, README "Layout"): a file's layer is its folder.
#   top     src/*.c        main.c may call anything; the others (limits,
#                          privileges, addresses) call only top files
#   net     src/net/       capture -> TCP streams: calls net, top
#   app     src/app/       application protocols: calls app, net, top
#   cors    src/cors/      the pure classifier: calls only cors
#   report  src/report/    judge, timeline, writers: calls report, cors, top
# Includes: the compiler enforces them (per-folder include paths, Makefile);
# this script also refuses a path into another folder ("net/flow.h",
# "../x.h"), which those paths would not stop.
# Exit status 0 when the graph obeys, 1 (listing every offence) when not.
verbose=0
[ "$1" = -v ] && { verbose=1; shift; }
build=${1:-build/rel}
[ -d "$build" ] || { echo "check-layers: no build directory $build" >&2; exit 2; }
src=$(dirname "$0")/../src
# the objects of today's sources (a file moved away leaves a stale object)
objs=$(find "$build" -name '*.o' ! -path "$build/tests/*" | sort | while read -r o; do
    f=${o#"$build"/}
    [ -f "$src/${f%.o}.c" ] && echo "$o"
done)
[ -n "$objs" ] || { echo "check-layers: no object files under $build" >&2; exit 2; }
inc_bad=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' "$src" | grep -v '"corscope/')
if [ -n "$inc_bad" ]; then
    echo "$inc_bad" | sed 's/^/check-layers: include through a folder path: /'
    inc_status=1
else
    inc_status=0
fi
for o in $objs; do
    f=${o#"$build"/}
    f=${f%.o}
    nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 && $2 ~ /[TDRBCGSV]/ { print "D", f, $3 }'
    nm -u "$o" | awk -v f="$f" '{ print "U", f, $NF }'
done | awk -v verbose=$verbose '
function layer(f) {
    if (f ~ /^net\//) return "net"
    if (f ~ /^app\//) return "app"
    if (f ~ /^cors\//) return "cors"
    if (f ~ /^report\//) return "report"
    return f == "main" ? "main" : "top"
}
function allowed(a, b) {      # may a file of layer a call one of layer b?
    if (a == b || a == "main") return 1
    if (b == "main") return 0
    if (a == "net") return b == "top"
    if (a == "app") return b == "net" || b == "top"
    if (a == "report") return b == "cors" || b == "top"
    return 0                  # cors and top call only their own layer
}
$1 == "D" { def[$3] = $2; files[$2] = 1; next }
$1 == "U" { use[$2 SUBSEP $3] = 1; files[$2] = 1 }
END {
    bad = 0
    for (k in use) {
        split(k, p, SUBSEP)
        if (!(p[2] in def) || def[p[2]] == p[1]) continue
        e = p[1] SUBSEP def[p[2]]
        if (!(e in edge)) { edge[e] = p[2]; reach[e] = 1 }
    }
    for (e in edge) {
        split(e, p, SUBSEP)
        if (verbose) printf "  %s -> %s (%s)\n", p[1], p[2], edge[e] | "sort"
        if (!allowed(layer(p[1]), layer(p[2]))) {
            printf "check-layers: forbidden edge %s (%s) -> %s (%s), via %s\n",
                   p[1], layer(p[1]), p[2], layer(p[2]), edge[e]
            bad = 1
        }
    }
    if (verbose) close("sort")
    n = 0
    for (f in files) name[++n] = f
    for (k = 1; k <= n; k++)          # transitive closure (Warshall)
        for (i = 1; i <= n; i++)
            if ((name[i] SUBSEP name[k]) in reach)
                for (j = 1; j <= n; j++)
                    if ((name[k] SUBSEP name[j]) in reach)
                        reach[name[i] SUBSEP name[j]] = 1
    for (e in edge) {
        split(e, p, SUBSEP)
        if ((p[2] SUBSEP p[1]) in reach) {
            printf "check-layers: cycle through %s -> %s (%s)\n", p[1], p[2], edge[e]
            bad = 1
        }
    }
    if (!bad) printf "check-layers: %d files, no cycle, no forbidden edge\n", n
    exit bad
}' || exit 1
exit $inc_status
