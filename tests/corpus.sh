#!/bin/sh
# make test-corpus: chains certtrace reports vs tshark over ../shared/corpus/real.
set -eu
bin=${1:-./certtrace}
corpus=${2:-../shared/corpus/real}
exec python3 "$(dirname "$0")/corpus.py" "$bin" "$corpus"
