#!/bin/sh
# A certtrace that always runs with --threads $CERTTRACE_THREADS: the field
# suite runs through it too (make test-field), so every command it tries is
# checked with several workers as well as one.
exec "$CERTTRACE_BIN" --threads "$CERTTRACE_THREADS" "$@"
