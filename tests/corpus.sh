#!/bin/sh
# make test-corpus: chains certtrace reports vs tshark over each corpus given
# (../shared/corpus/real and ../shared/corpus2/real; one that is not there is
# skipped with a line saying so).  JOBS=n runs n files at a time.
set -eu
bin=${1:-./certtrace}
shift || true
[ $# -gt 0 ] || set -- ../shared/corpus/real ../shared/corpus2/real
exec python3 "$(dirname "$0")/corpus.py" "$bin" "$@"
