#!/bin/bash
# A LOADER for bench/share_wrk.sh that measures what key files add to a load: it loads the file
# three times with key files and three times without, alternating, then once more with them for
# the lookups that follow. It needs a build of `pdp` whose `keyindex::key_columns` returns no
# columns when SCRATCH_NO_KEY_FILES is set (a two-line change, see docs/benchmarks.md), named
# by AB_PDP.
#
#   AB_PDP=/tmp/pdp-ab LOADER=bench/key_files_ab.sh SERVER=/tmp/pdp-ab ROWS=10000000 \
#     PEOPLE=/work/benchdata/people_10m.csv KEYS=10 ROUNDS=1 DURATION=1s bench/share_wrk.sh
#   grep -E '^(keys|nokeys)' /tmp/key_files_ab.times
set -u
: > /tmp/key_files_ab.times
for _ in 1 2 3; do
  for mode in keys nokeys; do
    if [ "$mode" = nokeys ]; then export SCRATCH_NO_KEY_FILES=1; else unset SCRATCH_NO_KEY_FILES; fi
    /usr/bin/time -f "$mode %e s wall, %U user, %S sys, %M KB max RSS" "$AB_PDP" "$@" \
      >> /tmp/key_files_ab.out 2>> /tmp/key_files_ab.times
  done
done
unset SCRATCH_NO_KEY_FILES
exec "$AB_PDP" "$@"
