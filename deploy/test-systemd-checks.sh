# The checks of deploy/test-systemd.sh on a running unit (sourced by it): readiness and hardening,
# read from systemd and from the service's own /proc entries inside the container. Uses the
# caller's inside(), WORK, and the helpers of test-lib.sh.

show() { inside systemctl show -P "$2" "$1"; } # unit property
main_pid() { show "$1" MainPID; }

# Type=notify: systemd keeps the unit "activating" until READY=1, so a start that returned with
# the unit active (running) was released by READY=1; the STATUS= text is the service's own.
check_notify() { # unit status-regex
  local unit="$1" status
  status="$(show "$unit" StatusText)"
  check "$unit: systemctl start returned with Type=$(show "$unit" Type) $(show "$unit" ActiveState)/$(show "$unit" SubState) (READY=1 received $(( ($(show "$unit" ActiveEnterTimestampMonotonic) - $(show "$unit" ExecMainStartTimestampMonotonic)) / 1000 )) ms after exec)" \
    test "$(show "$unit" Type) $(show "$unit" ActiveState) $(show "$unit" SubState)" = "notify active running"
  check "$unit: StatusText set by the service: '$status'" grep -Eq "$2" <<< "$status"
}

# The hardening of a running service, read from the process itself.
check_hardening() { # unit user state-directory credential...
  local unit="$1" user="$2" state="$3" pid uid gid name field value probe out creds cred other
  shift 3
  pid="$(main_pid "$unit")"
  uid="$(inside id -u "$user")"
  gid="$(inside id -g "$user")"
  inside cat "/proc/$pid/status" > "$WORK/status"
  name="$(inside getent passwd "$(awk '/^Uid:/ { print $2 }' "$WORK/status")" | cut -d: -f1)"
  ids="$(awk '/^Uid:/ { printf "uid %s %s %s %s, ", $2, $3, $4, $5 } /^Gid:/ { printf "gid %s %s %s %s", $2, $3, $4, $5 }' "$WORK/status")"
  [ "$name $ids" = "$user uid $uid $uid $uid $uid, gid $gid $gid $gid $gid" ] \
    || fail "$unit: MainPID $pid runs as $name ($ids), not as $user (uid $uid, gid $gid)"
  pass "$unit: MainPID $pid runs as $user, not root ($ids: real, effective, saved, fs)"
  for field in CapInh CapPrm CapEff CapBnd CapAmb; do
    value="$(awk -v f="$field:" '$1 == f { print $2 }' "$WORK/status")"
    [ "$value" = 0000000000000000 ] || fail "$unit: $field is $value in /proc/$pid/status (expected none)"
  done
  check "$unit: no capabilities (CapInh/CapPrm/CapEff/CapBnd/CapAmb all 0), NoNewPrivs 1, seccomp filter mode" \
    test "$(awk '$1 == "NoNewPrivs:" || $1 == "Seccomp:" { printf "%s ", $2 }' "$WORK/status")" = "1 2 "
  # ProtectSystem=strict: even root cannot write /etc or /usr in the service's mount namespace,
  # while the container itself can (so the read-only comes from the unit).
  probe="/etc/.egglogu-test-probe-$$"
  for dir in /etc /usr; do
    out="$(inside nsenter -t "$pid" -m touch "$dir/.egglogu-test-probe-$$" 2>&1)" && {
      inside nsenter -t "$pid" -m rm -f "$dir/.egglogu-test-probe-$$"
      fail "$unit: $dir is writable in the service's mount namespace"
    }
    grep -q 'Read-only file system' <<< "$out" || fail "$unit: touch in $dir failed, but not read-only: $out"
  done
  inside touch "$probe" && inside rm -f "$probe" || fail "$unit: the container's own /etc is not writable (no control)"
  check "$unit: / is mounted '$(inside awk '$5 == "/" { split($6, o, ","); print o[1] }' "/proc/$pid/mountinfo")' in its namespace; root there gets EROFS on /etc and /usr (writable outside)" \
    test "$(inside awk '$5 == "/" { split($6, o, ","); print o[1] }' "/proc/$pid/mountinfo")" = ro
  out="$(inside nsenter -t "$pid" -m sh -c 'touch "$1/.egglogu-test-probe" && rm "$1/.egglogu-test-probe"' sh "$state" 2>&1)" \
    || fail "$unit: its StateDirectory $state is not writable in its namespace: $out"
  pass "$unit: its StateDirectory $state stays writable"
  # LoadCredential=: private copies, readable by the service user only.
  creds="/run/credentials/$unit.service"
  check "$unit: $creds is $(inside stat -c '%U %a' "$creds") (a $(inside awk -v d="$creds" '$5 == d { sub(/.* - /, ""); print $1 }' /proc/1/mountinfo) mount of its own)" \
    test "$(inside stat -c '%U %a' "$creds")" = "$user 500"
  for cred in "$@"; do
    check "$unit: credential $cred is $(inside stat -c '%U:%G %a' "$creds/$cred") (0400/0440, owned by $user)" \
      grep -Eq "^$user:[^ ]+ 4[04]0\$" <<< "$(inside stat -c '%U:%G %a' "$creds/$cred")"
    for other in nobody "$( [ "$user" = egglogu-agent ] && echo egglogu-sync || echo egglogu-agent)"; do
      if out="$(inside setpriv --reuid="$other" --regid="$(inside id -g "$other")" --clear-groups cat "$creds/$cred" 2>&1)"; then
        fail "$unit: $other can read the credential $cred"
      fi
      grep -q 'Permission denied' <<< "$out" || fail "$unit: reading $cred as $other failed, but not with EACCES: $out"
    done
    check "$unit: credential $cred: nobody and the other service's user get 'Permission denied'; $user reads it" \
      inside setpriv --reuid="$user" --regid="$user" --clear-groups test -r "$creds/$cred"
  done
}
