#!/usr/bin/env bash
# Copies Swagger UI and ReDoc from the npm registry into app/static, so that /docs and /redoc
# are served by Newsdesk itself and work without internet access once installed.
# Only the tarballs are fetched (npm pack): no node_modules, no install scripts.
set -euo pipefail

SWAGGER_UI="swagger-ui-dist@5.35.0"
SWAGGER_UI_SHA256="1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6"
REDOC="redoc@3.0.1"
REDOC_SHA256="d9666cd5a1cb6c08c6d23f2433b025774a11354823d70357c8f506b988dac189"

root=$(cd "$(dirname "$0")/.." && pwd)
static="$root/app/static"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # package@version expected-sha256 -> path of the verified tarball
  local spec=$1 sha=$2 file
  file=$(cd "$work" && npm pack --silent "$spec" | tail -n 1)
  echo "$sha  $work/$file" | sha256sum --check --quiet - >&2
  echo "$work/$file"
}

command -v npm >/dev/null || { echo "npm is needed to fetch the docs assets (apt install npm)" >&2; exit 1; }
mkdir -p "$static/swagger-ui" "$static/redoc"
tar -xzf "$(fetch "$SWAGGER_UI" "$SWAGGER_UI_SHA256")" -C "$work"
cp "$work/package/swagger-ui-bundle.js" "$work/package/swagger-ui.css" \
   "$work/package/favicon-32x32.png" "$work/package/oauth2-redirect.html" \
   "$work/package/LICENSE" "$static/swagger-ui/"
rm -rf "$work/package"
tar -xzf "$(fetch "$REDOC" "$REDOC_SHA256")" -C "$work"
cp "$work/package/bundles/redoc.standalone.js" "$work/package/LICENSE" "$static/redoc/"
echo "$SWAGGER_UI $REDOC" > "$static/VERSION"
echo "docs assets: $SWAGGER_UI, $REDOC -> $static" >&2
