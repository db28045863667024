#!/usr/bin/env bash
# labels: style
# Layout is clang-format's (.clang-format at the top): every tracked C file must already be
# formatted. Generated asn1c code lives in the build tree and is not checked.
set -euo pipefail
cd "$LAWTAP_SOURCE_DIR"
command -v clang-format >/dev/null || { echo "format: needs clang-format (scripts/deps.sh test)" >&2; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -path ./build\* -prune -o -name '*.[ch]' -print)
[ ${#files[@]} -gt 0 ] || { echo "format: no C files found" >&2; exit 1; }
if ! clang-format --dry-run -Werror "${files[@]}"; then
	echo "format: run clang-format -i on the files above" >&2
	exit 1
fi
echo "format: ${#files[@]} files formatted"
