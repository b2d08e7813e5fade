#!/usr/bin/env bash
# Copies Swagger UI and ReDoc from the npm registry into app/static, so that /docs and /redoc
# are served by Newsdesk itself and work without internet access once installed.
# Only the tarballs are fetched, each checked against its SHA-256: no node_modules, no install
# scripts. With npm installed, `npm pack` fetches them (through the user's npm settings);
# without it (the Docker build), Python downloads the same tarball from the registry
# (NPM_CONFIG_REGISTRY, default https://registry.npmjs.org).
set -euo pipefail

SWAGGER_UI="swagger-ui-dist@5.35.0"
SWAGGER_UI_SHA256="1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6"
# ReDoc 2: the 3.x bundle is an ES module that also loads its logo from cdn.redoc.ly.
REDOC="redoc@2.5.4"
REDOC_SHA256="44922df4d0eb45c1b066c09ec251e6bd9bd7ded16bc69e87613337b9d911a56e"

root=$(cd "$(dirname "$0")/.." && pwd)
static="$root/app/static"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # package@version expected-sha256 -> path of the verified tarball
  local spec=$1 sha=$2 name=${1%@*} version=${1##*@} file registry
  if command -v npm >/dev/null; then
    file="$work/$(cd "$work" && npm pack --silent "$spec" | tail -n 1)"
  else
    registry=${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}
    file="$work/$name-$version.tgz"
    python3 - "${registry%/}/$name/-/$name-$version.tgz" "$file" <<'PY'
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as answer, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(answer, out)
PY
  fi
  echo "$sha  $file" | sha256sum --check --quiet - >&2
  echo "$file"
}

mkdir -p "$static/swagger-ui" "$static/redoc"
tar -xzf "$(fetch "$SWAGGER_UI" "$SWAGGER_UI_SHA256")" -C "$work"
cp "$work/package/swagger-ui-bundle.js" "$work/package/swagger-ui.css" \
   "$work/package/favicon-32x32.png" "$work/package/oauth2-redirect.html" \
   "$work/package/LICENSE" "$static/swagger-ui/"
rm -rf "$work/package"
tar -xzf "$(fetch "$REDOC" "$REDOC_SHA256")" -C "$work"
# The one thing the ReDoc bundle fetches from elsewhere is its sidebar logo (cdn.redoc.ly).
# Point it at an empty data: URL instead; ReDoc hides a logo that does not load.
logo="https://cdn.redoc.ly/redoc/logo-mini.svg"
bundle="$work/package/bundles/redoc.standalone.js"
[ "$(grep -o "$logo" "$bundle" | wc -l)" = 1 ] || { echo "ReDoc bundle: logo URL not found once" >&2; exit 1; }
sed -i "s|\"$logo\"|\"data:,\"|" "$bundle"
if grep -q "cdn\.redoc\.ly" "$bundle"; then echo "ReDoc bundle still names cdn.redoc.ly" >&2; exit 1; fi
cp "$bundle" "$work/package/LICENSE" "$static/redoc/"
echo "$SWAGGER_UI $REDOC" > "$static/VERSION"
echo "docs assets: $SWAGGER_UI, $REDOC -> $static" >&2
