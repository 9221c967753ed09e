#!/bin/sh
# Regenerates src/catalog/builtin/pg_{type,proc,operator,cast}.rs from a
# running PostgreSQL 15 and a dump of ferrogres's function registry.
# Usage: scripts/catalog/gen.sh HOST PORT [DATABASE]   (a scratch cluster: it creates
# table reg in DATABASE, default postgres; give each concurrent run its own database)
set -e
host=$1; port=$2; db=${3:-postgres}
out=$(cd "$(dirname "$0")/../.." && pwd)/src/catalog/builtin
dump=$(mktemp)
FERROGRES_REGISTRY_DUMP=$dump flock /tmp/ferrogres-build.lock cargo test --lib dump_registry -- --ignored >/dev/null
psql="psql -h $host -p $port -U postgres -d $db -X -q"
$psql -c "DROP TABLE IF EXISTS reg CASCADE; CREATE TABLE reg(id int, kind text, name text, args text, ret oid, isvariadic bool, isstrict bool)"
$psql -c "\\copy reg from '$dump'"
$psql -v outdir="$out" -f "$(dirname "$0")/gen_from_pg15.sql"
sed -i -E 's/: t([,} ])/: true\1/g; s/: f([,} ])/: false\1/g' "$out"/pg_*.rs
rm -f "$dump"
