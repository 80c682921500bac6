#!/usr/bin/env bash
# Runs node-postgres's pg-pool test suite (packages/pg-pool/test) against lifeguard's
# pg pool, file by file, in a scratch folder outside this repository. Fetches nothing.
#
#   scripts/pg-pool-suite.sh /path/to/node-postgres [/tmp/pgpool-suite]
#
# The scratch folder gets a copy of the tests, a package.json with their dev
# dependencies, and an index.js that the tests' require('../') lands on: lifeguard's
# LifeguardPgPool (POOL_IMPL=pg-pool: pg-pool itself, the reference). Nothing in the
# tests is changed. Install the dependencies once, as printed, then run again.
# Needs `npm run build` here first, and PostgreSQL (PGHOST/PGUSER/PGDATABASE, default
# 127.0.0.1 / postgres / test). The one test that uses pg.native needs pg-native built
# somewhere on NODE_PATH; without it, it fails against pg-pool too.
set -euo pipefail
src=${1:?usage: $0 /path/to/node-postgres [scratch-dir]}
work=${2:-/tmp/pgpool-suite}
repo=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$src/packages/pg-pool/test" ] || { echo "no packages/pg-pool/test under $src" >&2; exit 2; }
mkdir -p "$work"
rm -rf "$work/test" && cp -r "$src/packages/pg-pool/test" "$work/test"
cat >"$work/package.json" <<'JSON'
{ "name": "pg-pool-suite-against-lifeguard", "private": true, "main": "index.js",
  "devDependencies": { "bluebird": "3.7.2", "co": "4.6.0", "expect.js": "0.3.1", "lodash": "^4.17.11",
                       "mocha": "^11.7.5", "pg-cursor": "^2.22.0" } }
JSON
cat >"$work/index.js" <<JS
'use strict'
module.exports = process.env.POOL_IMPL === 'pg-pool'
  ? require('$repo/node_modules/pg-pool')
  : require('$repo/dist/index.cjs').LifeguardPgPool
JS
if [ ! -x "$work/node_modules/.bin/mocha" ]; then
  echo "install the test dependencies once, then run this again:"
  echo "  (cd $work && npm install --legacy-peer-deps && ln -sfn $repo/node_modules/pg node_modules/pg)"
  exit 3
fi
cd "$work"
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres} PGDATABASE=${PGDATABASE:-test}
out="results-${POOL_IMPL:-lifeguard}"
mkdir -p "$out"
printf '%-22s %5s %5s  %s\n' file pass fail failing
for f in test/*.js; do
  name=$(basename "$f" .js)
  case $name in setup|idle-timeout-exit) continue ;; esac
  timeout 60 node_modules/.bin/mocha --reporter json --reporter-option output="$out/$name.json" test/setup.js "$f" >"$out/$name.log" 2>&1 || true
  node -e '
    const r = (() => { try { return require(process.argv[1]) } catch { return null } })();
    const n = process.argv[2].padEnd(22);
    if (!r) console.log(n, "    ?     ?  (no report: see the .log)");
    else console.log(n, String(r.stats.passes).padStart(5), String(r.stats.failures).padStart(5), "", r.failures.map((x) => x.fullTitle).join(" | "));
  ' "$PWD/$out/$name.json" "$name"
done
