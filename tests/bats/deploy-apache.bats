#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
# The Apache example as shipped (deploy/apache/imagexfer.conf): Apache
# httpd + mod_fcgid spawning imagexfer-fcgi, a download and an upload.

load helpers
load expect
load nbd-helpers
load nbd-stalled-helpers

APACHE2=${APACHE2:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}

setup_file ()
{
  [ -x "$APACHE2" ] || skip "apache2 is not installed"
  [ -e "$APACHE_MODULES/mod_fcgid.so" ] \
    || skip "mod_fcgid is not installed (Debian: libapache2-mod-fcgid)"
  [ -x "$IMAGEXFER_FCGI" ] || skip "imagexfer-fcgi is not built"

  # Apache refuses to run as root, so as root it serves as www-data: the
  # directory must be reachable by that user, not only by us.
  STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/apache-stack.XXXXXX")
  chmod 755 "$STACK_DIR"
  SPOOL=$STACK_DIR/spool
  STATE=$STACK_DIR/state
  IMAGES=$STACK_DIR/images
  mkdir -p "$SPOOL" "$STATE" "$IMAGES" "$STACK_DIR/www" "$STACK_DIR/run" \
           "$STACK_DIR/bin"
  cp "$IMAGEXFER_FCGI" "$STACK_DIR/bin/imagexfer-fcgi"
  local user_lines=""
  if [ "$(id -u)" -eq 0 ]; then
    user_lines=$'User www-data\nGroup www-data'
    chown www-data:www-data "$SPOOL" "$STATE" "$IMAGES" "$STACK_DIR/run"
  fi
  export STACK_DIR SPOOL STATE IMAGES

  cat > "$STACK_DIR/imagexfer.conf" <<EOF
spool_dir = $SPOOL
state_dir = $STATE
workers = 1
log_level = debug
EOF

  # mod_fcgid gives its programs a clean environment: a sanitizer run
  # (tests/run-all) passes its options on, so that reports reach its logs.
  local sanitizer_env="" var
  for var in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -z "${!var:-}" ] || sanitizer_env+="FcgidInitialEnv $var \"${!var}\""$'\n'
  done

  local port started=""
  for _ in 1 2 3; do
    port=$(_stack_pick_port)
    cat > "$STACK_DIR/apache.conf" <<EOF
ServerRoot "$STACK_DIR"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$STACK_DIR/run/apache.pid"
DefaultRuntimeDir "$STACK_DIR/run"
ErrorLog "$STACK_DIR/apache-error.log"
LogLevel warn
$user_lines
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule authz_host_module $APACHE_MODULES/mod_authz_host.so
LoadModule alias_module $APACHE_MODULES/mod_alias.so
LoadModule fcgid_module $APACHE_MODULES/mod_fcgid.so
DocumentRoot "$STACK_DIR/www"
<Directory />
  Require all denied
</Directory>
FcgidIPCDir "$STACK_DIR/run/fcgid"
FcgidProcessTableFile "$STACK_DIR/run/fcgid-shm"
$sanitizer_env
Define IMAGEXFER_BIN $STACK_DIR/bin/imagexfer-fcgi
Define IMAGEXFER_CONF $STACK_DIR/imagexfer.conf
Include "$top_builddir/deploy/apache/imagexfer.conf"
EOF
    "$APACHE2" -t -f "$STACK_DIR/apache.conf" 2>&1 || return 1
    "$APACHE2" -f "$STACK_DIR/apache.conf" -DFOREGROUND \
      </dev/null >>"$STACK_DIR/apache.out" 2>&1 3>&- &
    APACHE_PID=$!
    export APACHE_PID
    BASE_URL=http://127.0.0.1:$port
    if stack_wait_ready "$BASE_URL" "$APACHE_PID"; then
      started=yes
      break
    fi
    kill -0 "$APACHE_PID" 2>/dev/null && break
    grep -qi 'address already in use' "$STACK_DIR/apache-error.log" \
      "$STACK_DIR/apache.out" 2>/dev/null || break
  done
  export BASE_URL
  if [ -z "$started" ]; then
    echo "apache + imagexfer did not answer OPTIONS with 200" >&2
    tail -n 30 "$STACK_DIR/apache-error.log" "$STACK_DIR/apache.out" >&2
    return 1
  fi

  image_random "$IMAGES/disk.raw" 2097155
  transfer_put dl "{\"backend\": \"file\", \"path\": \"$IMAGES/disk.raw\"}"
  image_sparse "$IMAGES/up.raw" 3145728
  # The images are writable transfers: imagexfer opens them read-write.
  [ "$(id -u)" -ne 0 ] || chown www-data:www-data "$IMAGES"/*.raw
  transfer_put up "{\"backend\": \"file\", \"path\": \"$IMAGES/up.raw\"}"
}

teardown_file ()
{
  nbd_stop_all
  if [ -n "${APACHE_PID:-}" ]; then
    _stack_kill "$APACHE_PID"
  fi
  # mod_fcgid stops its processes with Apache; anything left is ours (the
  # binary copy is unique to this directory).
  local pid
  for pid in $(pgrep -f "^$STACK_DIR/bin/imagexfer-fcgi" 2>/dev/null); do
    _stack_kill "$pid"
  done
  [ -z "${STACK_DIR:-}" ] || rm -rf "$STACK_DIR"
}

@test "apache: full GET through mod_fcgid is byte-exact" {
  http "$BASE_URL/images/dl"
  [ "$status_code" = 200 ]
  cmp "$STACK_DIR/body" "$IMAGES/disk.raw"
}

@test "apache: ranged GET through mod_fcgid returns 206 and those bytes" {
  http -H 'Range: bytes=5-65540' "$BASE_URL/images/dl"
  [ "$status_code" = 206 ]
  [ "$(header Content-Range)" = "bytes 5-65540/2097155" ]
  cmp "$STACK_DIR/body" <(extract "$IMAGES/disk.raw" 5 65536)
}

@test "apache: HEAD with a Range still answers 200 and the whole size" {
  http -I -H 'Range: bytes=5-65540' "$BASE_URL/images/dl"
  [ "$status_code" = 200 ]
  [ "$(header Content-Length)" = 2097155 ]
  [ -z "$(header Content-Range)" ]
}

@test "apache: PUT upload through mod_fcgid lands byte-exact, then downloads the same" {
  head -c 3145728 /dev/urandom > "$STACK_DIR/src.raw"
  http -X PUT --data-binary "@$STACK_DIR/src.raw" "$BASE_URL/images/up"
  [ "$status_code" = 200 ]
  cmp "$STACK_DIR/src.raw" "$IMAGES/up.raw"
  http "$BASE_URL/images/up"
  [ "$status_code" = 200 ]
  cmp "$STACK_DIR/body" "$STACK_DIR/src.raw"
}

@test "apache: /api and /tickets reach imagexfer, which refuses them (403 JSON)" {
  for path in /api/v1/daemon /api/v2/transfers /tickets/x; do
    http "$BASE_URL$path"
    expect_status 403 "$path"
    expect_json '.code == "FORBIDDEN"'
  done
}

@test "apache: paths outside /images and /api do not reach imagexfer" {
  http "$BASE_URL/imagesx"
  [ "$status_code" = 403 ] || [ "$status_code" = 404 ]
}

@test "apache: descriptor deleted mid-download: the download stops, never a complete 200" {
  # Read-only: the image belongs to root, the worker runs as www-data.
  expect_download_cancelled long '{"ops": ["read"]}'
}

@test "apache: descriptor deleted mid-upload: refused when mod_fcgid hands it on, not a byte written" {
  # mod_fcgid reads the whole body before the worker sees the request
  # (docs/deploy.md), so the cancel is seen before anything is written.
  image_sparse "$IMAGES/slow.raw" 16M
  [ "$(id -u)" -ne 0 ] || chown www-data:www-data "$IMAGES/slow.raw"
  file_transfer slow "$IMAGES/slow.raw"
  # Known to the server before the cancel, so that it answers "cancelled".
  http -X OPTIONS "$BASE_URL/images/slow"
  expect_status 200
  head -c 16M /dev/urandom > "$STACK_DIR/slow.src"
  curl -sS --limit-rate 4M --max-time 60 -o "$STACK_DIR/slow.out" \
    -w '%{http_code}\n' -X PUT --data-binary "@$STACK_DIR/slow.src" \
    "$BASE_URL/images/slow" > "$STACK_DIR/slow.curl" 2> "$STACK_DIR/slow.err" &
  local cpid=$! rc=0 t0
  sleep 1.5
  transfer_rm slow
  t0=$SECONDS
  wait "$cpid" || rc=$?
  (( rc == 0 )) || fail "curl failed ($rc): $(cat "$STACK_DIR/slow.err")"
  [ "$(cat "$STACK_DIR/slow.curl")" = 403 ] \
    || fail "status $(cat "$STACK_DIR/slow.curl"), not 403: $(cat "$STACK_DIR/slow.out")"
  jq -e '.error == "transfer slow was cancelled"' "$STACK_DIR/slow.out" \
    >/dev/null || fail "body: $(cat "$STACK_DIR/slow.out")"
  cmp -n 16777216 "$IMAGES/slow.raw" /dev/zero || fail "the image changed"
  (( SECONDS - t0 <= 20 )) || fail "refused after $((SECONDS - t0)) s"
}

@test "apache: a client that stays while its NBD server is slow gets every byte" {
  command -v nbdkit >/dev/null || skip "nbdkit is not installed"
  # mod_fcgid must never look, to the worker polling the connection
  # while the server is silent, like a client gone.
  check_slow_server_client_stays
}
