#!/bin/sh
# The man page renders without groff warnings and documents exactly the
# options of `corscope --help`:
#   - every long option in --help appears in man/corscope.1;
#   - every long option in the man page's OPTIONS section appears in --help;
#   - every short option letter in --help appears in the man page.
# Prints what is missing and exits 1; prints one summary line and exits 0.
#
# HELP_SOURCE=file uses that file as the --help text instead of running
# ./corscope (for checking the page while the binary does not build).
cd "$(dirname "$0")/../.." || exit 2

page=man/corscope.1
tmp=${TMPDIR:-/tmp}/corscope-manpage.$$
mkdir -p "$tmp" || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

if [ ! -f "$page" ]; then
    echo "manpage: $page is missing"
    exit 1
fi
if ! command -v groff >/dev/null 2>&1; then
    echo "manpage: groff is not installed (apt-get install groff-base)"
    exit 1
fi

# 1. Renders without warnings.
groff -man -ww -z "$page" >"$tmp/groff.out" 2>&1
if [ -s "$tmp/groff.out" ]; then
    echo "manpage: groff -man -ww -z $page warns:"
    sed 's/^/    /' "$tmp/groff.out"
    fail=1
fi

# 2. The --help text.
if [ -n "$HELP_SOURCE" ]; then
    cp "$HELP_SOURCE" "$tmp/help" || exit 2
else
    if [ ! -x ./corscope ]; then
        make corscope >"$tmp/make.out" 2>&1 || {
            echo "manpage: make corscope failed:"
            tail -n 20 "$tmp/make.out" | sed 's/^/    /'
            exit 1
        }
    fi
    ./corscope --help >"$tmp/help" 2>&1 || {
        echo "manpage: ./corscope --help failed"
        exit 1
    }
fi

# The page with roff escapes for dashes undone, and its OPTIONS section alone
# (from .SH OPTIONS to the next .SH).
sed -e 's/\\-/-/g' -e 's/\\(en/-/g' "$page" >"$tmp/page"
sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$tmp/page" >"$tmp/options"
if [ ! -s "$tmp/options" ]; then
    echo "manpage: no OPTIONS section in $page"
    fail=1
fi

longopts() { # file: every --long-option in it, one per line, sorted
    grep -o -e '--[a-z][a-z0-9-]*' "$1" | sed 's/-*$//' | sort -u
}
longopts "$tmp/help" >"$tmp/help.long"
longopts "$tmp/page" >"$tmp/page.long"
longopts "$tmp/options" >"$tmp/options.long"

# 3. Every long option of --help is in the page.
missing=$(comm -23 "$tmp/help.long" "$tmp/page.long")
if [ -n "$missing" ]; then
    echo "manpage: in --help but not in $page:"
    echo "$missing" | sed 's/^/    /'
    fail=1
fi

# 4. Every long option documented in OPTIONS is in --help.
extra=$(comm -13 "$tmp/help.long" "$tmp/options.long")
if [ -n "$extra" ]; then
    echo "manpage: in the OPTIONS section of $page but not in --help:"
    echo "$extra" | sed 's/^/    /'
    fail=1
fi

# 5. Every short option letter of --help ("  -r, --read" or "-r FILE" in the
# usage lines) is in the page as -X (bold or not).
grep -o -e '^ *-[A-Za-z0-9][ ,]' -e '[[ ]-[A-Za-z0-9][] ]' "$tmp/help" |
    sed 's/^[[ ]*-\(.\).*/\1/' | sort -u >"$tmp/help.short"
nshort=0
missing_short=""
for c in $(cat "$tmp/help.short"); do
    nshort=$((nshort + 1))
    if ! grep -q -e "\\\\fB-$c\\\\fR" -e "^\\.B -$c\\( \\|\$\\)" -e "^\\.BR -$c\\( \\|\$\\)" \
            -e "^\\.B \"-$c" -e "^\\.BR \"-$c" "$tmp/page"; then
        missing_short="$missing_short -$c"
    fi
done
if [ -n "$missing_short" ]; then
    echo "manpage: short options in --help but not in $page:$missing_short"
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "manpage: ok: renders without warnings; $(wc -l <"$tmp/help.long") long and $nshort short options of --help documented; $(wc -l <"$tmp/options.long") long options in OPTIONS, all in --help"
exit 0
