# What deploy/test-systemd.sh boots and installs (sourced by it): the container root, a minbase
# Debian $SUITE with systemd built once with debootstrap and cached in $ROOT ($STAMP names what it
# holds), the two packages, cached under $CACHE/debs while their inputs are unchanged, and the
# broker on the host. Uses the caller's REPO, CACHE, ROOT, STAMP, SUITE, INCLUDE, MIRROR, REBUILD,
# FROM, AGENT, SERVER, NORMAL_PRIORITY and WORK.

# The first URI of an enabled "deb" source for SUITE in /etc/apt: one-line .list files and deb822
# .sources files (files with other suffixes, e.g. *.disabled, are not read by apt either).
apt_mirror() { # suite
  local suite="$1" f
  {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      awk -v suite="$suite" '
        /^[ \t]*deb[ \t]/ {
          sub(/^[ \t]*deb[ \t]+/, "")
          if ($0 ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "")
          if ($2 == suite) print $1
        }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v suite="$suite" '
        function flush() {
          if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " suite " ") && uris != "") {
            split(uris, u, " "); print u[1]
          }
          types = ""; suites = ""; uris = ""; enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
          key = tolower($0); sub(/:.*/, "", key); gsub(/[ \t]/, "", key)
          val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
          if (key == "types") types = val
          else if (key == "suites") suites = val
          else if (key == "uris") uris = val
          else if (key == "enabled") enabled = tolower(val)
        }
        END { flush() }' "$f"
    done
  } | sed -n '1p'
}

stamp_text() { printf 'suite=%s\ninclude=%s\n' "$SUITE" "$INCLUDE"; }

# Reuses the cached root when its stamp matches, or builds it (about 1 min).
container_root() {
  if [ "$REBUILD" = 0 ] && [ -d "$ROOT" ] && [ -f "$STAMP" ] && [ "$(sed -n '1,2p' "$STAMP")" = "$(stamp_text)" ]; then
    echo "--- container root: $ROOT ($(sed -n 's/^built=//p' "$STAMP"))"
  else
    [ -n "$MIRROR" ] || MIRROR="$(apt_mirror "$SUITE")"
    [ -n "$MIRROR" ] || fail "no '$SUITE' source in /etc/apt/sources.list(.d): pass --mirror URL"
    echo "--- building the container root: debootstrap --variant=minbase $SUITE from $MIRROR (about 1 min)"
    rm -rf "$CACHE"/.root.tmp.* # left by an interrupted build (the lock is ours)
    local tmp_root build_started
    tmp_root="$(mktemp -d "$CACHE/.root.tmp.XXXXXX")"
    chmod 0755 "$tmp_root"
    build_started=$SECONDS
    if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp_root" "$MIRROR" > "$WORK/debootstrap.log" 2>&1; then
      tail -n 20 "$WORK/debootstrap.log" | sed 's/^/  | /' >&2
      rm -rf "$tmp_root"
      fail "debootstrap failed"
    fi
    rm -f "$tmp_root"/var/cache/apt/archives/*.deb
    rm -f "$STAMP"
    rm -rf "$ROOT"
    mv "$tmp_root" "$ROOT"
    { stamp_text; echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) from $MIRROR in $((SECONDS - build_started)) s"; } > "$STAMP.tmp"
    mv "$STAMP.tmp" "$STAMP"
    pass "container root built in $((SECONDS - build_started)) s ($(du -sh "$ROOT" | cut -f1)): $ROOT"
  fi
}

# Builds both packages (or reuses the cached pair) into $WORK/share/debs and sets DEBS; sets BINDS
# to the --bind-ro= options that give the container the Swift runtime of a debug build.
packages() {
  local p attempt before key deb bin found runpath dir dirs
  mkdir -p "$WORK/share/debs"
  if [ -n "$FROM" ]; then
    # A copy first: the originals may be rebuilt while this runs.
    mkdir -p "$WORK/bin"
    for p in "$AGENT" "$SERVER"; do
      [ -x "$FROM/$p" ] || fail "$FROM/$p: no such executable"
      for attempt in 1 2 3; do
        before="$(stat -c '%s %Y' "$FROM/$p")"
        cp "$FROM/$p" "$WORK/bin/$p"
        [ "$(stat -c '%s %Y' "$FROM/$p")" = "$before" ] && break
        [ "$attempt" = 3 ] && fail "$FROM/$p keeps changing (a build in progress?)"
        sleep 5
      done
    done
    # Reused while the binaries and everything build-deb.sh reads are the same.
    key="$( (sha256sum "$WORK/bin/$AGENT" "$WORK/bin/$SERVER" | cut -d' ' -f1
      cd "$REPO" && { find deploy/build-deb.sh deploy/*.service deploy/debian mosquitto VERSION -type f -print0
        find . -maxdepth 1 -type f \( -name 'LICENSE*' -o -name COPYING \) -print0; } 2>/dev/null \
        | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-32)"
    if [ -f "$CACHE/debs/$key/done" ]; then
      cp "$CACHE/debs/$key/"*.deb "$WORK/share/debs/"
      echo "--- packages: reusing the ones built from the same binaries and packaging files ($CACHE/debs/$key)"
    else
      run "build-deb.sh --from (a copy of) $FROM" "$REPO/deploy/build-deb.sh" --from "$WORK/bin" --out "$WORK/share/debs"
      rm -rf "$CACHE/debs"
      mkdir -p "$CACHE/debs/$key"
      cp "$WORK/share/debs/"*.deb "$CACHE/debs/$key/"
      touch "$CACHE/debs/$key/done"
    fi
  else
    run "build-deb.sh (release build)" "$REPO/deploy/build-deb.sh" --out "$WORK/share/debs"
  fi
  DEBS=("$WORK/share/debs/${AGENT}_"*.deb "$WORK/share/debs/${SERVER}_"*.deb)
  for deb in "${DEBS[@]}"; do check "built $(basename "$deb") ($(du -h "$deb" | cut -f1))" test -s "$deb"; done

  # The Swift runtime of a build that loads it dynamically (debug): bound read-only at its path.
  BINDS=()
  mkdir -p "$WORK/unpacked"
  for deb in "${DEBS[@]}"; do dpkg-deb -x "$deb" "$WORK/unpacked"; done
  for p in "$AGENT" "$SERVER"; do
    bin="$WORK/unpacked/usr/bin/$p"
    readelf -d "$bin" | grep -q 'NEEDED.*\[libswiftCore\.so\]' || continue
    found=""
    runpath="$(readelf -d "$bin" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p; s/.*(RPATH).*\[\(.*\)\]/\1/p' | head -n 1)"
    IFS=: read -r -a dirs <<< "$runpath"
    for dir in "${dirs[@]}"; do
      case "$dir" in /*) ;; *) continue ;; esac
      if [ -f "$dir/libswiftCore.so" ]; then
        found="$dir"
        [[ " ${BINDS[*]} " == *" --bind-ro=$dir "* ]] || BINDS+=("--bind-ro=$dir")
        break
      fi
    done
    [ -n "$found" ] || fail "$p loads the Swift runtime, but no RUNPATH directory ($runpath) holds libswiftCore.so"
    note "$p is not a --static-swift-stdlib build: the container gets $found read-only"
  done
  rm -rf "$WORK/unpacked"
}

# A loopback port nothing uses (the container shares the host's network), other than the ones given.
# Drawn above the kernel's ephemeral range (to 60999) and the test suite's own ports (below 32700),
# which may not be bound yet while this runs beside them.
free_port() { # taken-port...
  local port
  while :; do
    port=$((61000 + RANDOM % 4500))
    [[ " $* " == *" $port "* ]] && continue
    ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | grep -qx "$port" || { echo "$port"; return; }
  done
}

broker_listens() { ss -Htln "sport = :$MQTT_PORT" | grep -q .; }

# Starts mosquitto on a free loopback port with the central broker's ACL head (it grants the server
# its notices), a password for the server and one for the test's observer; sets MQTT_PORT,
# HTTP_PORT (for the server), BROKER (its directory), BROKER_PID and the two passwords.
start_broker() {
  MQTT_PORT="$(free_port)"
  HTTP_PORT="$(free_port "$MQTT_PORT")"
  SERVER_MQTT_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  OBSERVER_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  BROKER="$WORK/broker"
  mkdir -m 0700 "$BROKER"
  cp "$REPO/mosquitto/central.acl" "$BROKER/acl"
  printf '\nuser egglogu-test-observer\ntopic read egglogu/#\n' >> "$BROKER/acl"
  : > "$BROKER/passwd"
  chmod 0600 "$BROKER/passwd"
  mosquitto_passwd -b "$BROKER/passwd" egglogu-sync-server "$SERVER_MQTT_PASSWORD"
  mosquitto_passwd -b "$BROKER/passwd" egglogu-test-observer "$OBSERVER_PASSWORD"
  cat > "$BROKER/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous false
password_file $BROKER/passwd
acl_file $BROKER/acl
# Run as root, it would otherwise switch to the user mosquitto, who cannot read $BROKER.
user root
persistence false
log_dest file $BROKER/mosquitto.log
log_type all
listener $MQTT_PORT 127.0.0.1
EOF
  "${NORMAL_PRIORITY[@]}" mosquitto -c "$BROKER/mosquitto.conf" > "$BROKER/stdout" 2>&1 &
  BROKER_PID=$!
  wait_for 10 broker_listens || fail "mosquitto does not listen on 127.0.0.1:$MQTT_PORT: $(cat "$BROKER/stdout" "$BROKER/mosquitto.log" 2>/dev/null | tail -n 5)"
  pass "mosquitto (password file, central ACL) on the host at 127.0.0.1:$MQTT_PORT"
}
