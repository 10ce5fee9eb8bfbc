#!/usr/bin/env bash
# Builds the egglogu-agent and egglogu-sync-server .deb packages for this machine's architecture
# from staged trees with `dpkg-deb --build --root-owner-group` (no debhelper), and prints their
# paths on stdout, one a line; everything else goes to stderr. deploy/test-deb.sh installs,
# upgrades, removes and purges them.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$REPO/deploy"
PRODUCTS=(egglogu-agent egglogu-sync-server)

usage() {
  cat <<EOF
Usage: deploy/build-deb.sh [--from DIR] [--out DIR] [--version V] [--no-strip]

Builds egglogu-agent_VERSION_ARCH.deb and egglogu-sync-server_VERSION_ARCH.deb, ARCH being
this machine's (dpkg --print-architecture), and prints their paths on stdout, one a line.

Options:
  --from DIR     package DIR/egglogu-agent and DIR/egglogu-sync-server (prebuilt) instead
                 of building them
  --out DIR      where the .debs go (default: .build/deb in the repository)
  --version V    the package version (default: the VERSION file)
  --no-strip     package the binaries with their symbols (default: strip the packaged
                 copies; the originals are never touched)
  -h, --help     show this help

Without --from it builds, in the repository, for each product:
  swift build -c release --static-swift-stdlib --product PRODUCT

Needs dpkg-dev (dpkg-shlibdeps computes Depends:) and binutils (strip).
Environment: DEB_MAINTAINER overrides the Maintainer: field.
EOF
}

die() { echo "build-deb.sh: error: $*" >&2; exit 1; }
usage_error() { echo "build-deb.sh: $*" >&2; echo "Try 'deploy/build-deb.sh --help'." >&2; exit 2; }
note() { echo "build-deb.sh: $*" >&2; }

FROM=""
OUT=""
VERSION=""
STRIP=1
while [ $# -gt 0 ]; do
  opt="$1"
  case "$opt" in
    --*=*) set -- "${opt%%=*}" "${opt#*=}" "${@:2}"; continue ;;
  esac
  case "$opt" in
    --from|--out|--version)
      if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "$opt needs a value"; fi
      case "$opt" in
        --from) FROM="$2" ;;
        --out) OUT="$2" ;;
        --version) VERSION="$2" ;;
      esac
      shift 2
      ;;
    --no-strip) STRIP=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument: $opt" ;;
  esac
done

for tool in dpkg dpkg-deb dpkg-shlibdeps objdump strip install md5sum du od; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "$tool not found (this script needs a Debian system with dpkg-dev and binutils: apt-get install dpkg-dev)"
done

ARCH="$(dpkg --print-architecture)"

if [ -z "$VERSION" ]; then
  [ -f "$REPO/VERSION" ] || die "no --version given and $REPO/VERSION is missing"
  VERSION="$(tr -d ' \t\r\n' < "$REPO/VERSION")"
  [ -n "$VERSION" ] || die "$REPO/VERSION is empty"
fi
dpkg --validate-version "$VERSION" >/dev/null 2>&1 || die "not a valid Debian version: '$VERSION'"

MAINTAINER="${DEB_MAINTAINER:-EGGlogU maintainers <maintainers@egglogu.invalid>}"

for f in egglogu-agent.service egglogu-sync-server.service; do
  [ -f "$DEPLOY/$f" ] || die "missing deploy/$f"
done
for f in postinst prerm postrm README.md; do
  for d in agent server; do [ -f "$DEPLOY/debian/$d/$f" ] || die "missing deploy/debian/$d/$f"; done
done
[ -f "$DEPLOY/debian/agent/agent.conf.example" ] || die "missing deploy/debian/agent/agent.conf.example"
[ -f "$DEPLOY/debian/server/server.conf.example" ] || die "missing deploy/debian/server/server.conf.example"

# --- The binaries ------------------------------------------------------------------------------

if [ -n "$FROM" ]; then
  [ -d "$FROM" ] || die "--from $FROM: not a directory"
  BIN_DIR="$(cd "$FROM" && pwd)"
else
  if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  fi
  command -v swift >/dev/null 2>&1 || die "swift not found: install Swift 6.x, or pass --from DIR with prebuilt binaries"
  swift_flags=(-c release --static-swift-stdlib)
  for product in "${PRODUCTS[@]}"; do
    note "swift build ${swift_flags[*]} --product $product"
    (cd "$REPO" && swift build "${swift_flags[@]}" --product "$product") >&2 \
      || die "swift build of $product failed"
  done
  BIN_DIR="$(cd "$REPO" && swift build "${swift_flags[@]}" --show-bin-path)"
fi

# The Debian architecture(s) an ELF file is for, from its header (e_machine, class, byte order).
elf_arch() {
  local magic class_data machine
  magic="$(od -An -tx1 -N4 "$1" | tr -d ' \n')"
  [ "$magic" = 7f454c46 ] || { echo "not-elf"; return; }
  class_data="$(od -An -tu1 -j4 -N2 "$1" | awk '{ print $1 ":" $2 }')" # 1/2: 32/64-bit, 1: little endian
  machine="$(od -An -tu2 -j18 -N2 --endian=little "$1" | awk '{ print $1 }')"
  case "$class_data:$machine" in
    2:1:62) echo amd64 ;;
    2:1:183) echo arm64 ;;
    1:1:40) echo "armhf armel" ;;
    1:1:3) echo i386 ;;
    2:1:243) echo riscv64 ;;
    2:1:21) echo ppc64el ;;
    *) echo "unknown($class_data:$machine)" ;;
  esac
}

for product in "${PRODUCTS[@]}"; do
  bin="$BIN_DIR/$product"
  [ -f "$bin" ] || die "$bin not found"
  [ -x "$bin" ] || die "$bin is not executable"
  arches="$(elf_arch "$bin")"
  case "$arches" in
    not-elf) die "$bin is not an ELF executable" ;;
    unknown*) die "$bin is not a $ARCH executable (ELF class:data:machine $arches)" ;;
    *) [[ " $arches " == *" $ARCH "* ]] || die "$bin is built for $arches, not this machine's $ARCH" ;;
  esac
done

# --- Depends: ----------------------------------------------------------------------------------

# The Swift runtime libraries a binary loads dynamically (a debug build, or one without
# --static-swift-stdlib): no Debian package provides them, so Depends: cannot name them.
swift_runtime_libs() { # binary
  objdump -p "$1" 2>/dev/null | awk '$1 == "NEEDED" { print $2 }' \
    | grep -E '^(libswift|lib_?Foundation|libdispatch|libBlocksRuntime|libXCTest)' | tr '\n' ' ' || true
}

# Prints the shlibs:Depends of a staged binary. dpkg-shlibdeps wants debian/control in the
# current directory and the binary in debian/PACKAGE/; it finds the Swift runtime of a dynamic
# build through the binary's RUNPATH (the toolchain), and --ignore-missing-info leaves it out.
compute_depends() { # package binary-path-in-package
  local pkg="$1" rel="$2" deps swift_libs
  if ! (cd "$WORK" && dpkg-shlibdeps -O --ignore-missing-info -e"debian/$pkg/$rel") \
    > "$WORK/shlibdeps-$pkg.out" 2> "$WORK/shlibdeps-$pkg.err"; then
    cat "$WORK/shlibdeps-$pkg.err" >&2
    die "$pkg: dpkg-shlibdeps failed (a library of $rel is missing on this machine?)"
  fi
  deps="$(sed -n 's/^shlibs:Depends=//p' "$WORK/shlibdeps-$pkg.out")"
  [ -n "$deps" ] || die "$pkg: dpkg-shlibdeps found no dependencies for $rel"
  swift_libs="$(swift_runtime_libs "$WORK/debian/$pkg/$rel")"
  if [ -n "$swift_libs" ]; then
    note "warning: $pkg: not a --static-swift-stdlib build: it loads the Swift runtime (${swift_libs% }) from"
    note "warning: $pkg: its RUNPATH ($(objdump -p "$WORK/debian/$pkg/$rel" | awk '$1 == "RUNPATH" { print $2 }')), which no package provides: left out of Depends:"
  fi
  printf '%s\n' "$deps"
}

# --- Staging -----------------------------------------------------------------------------------

umask 022
WORK="$(mktemp -d "${TMPDIR:-/tmp}/egglogu-deb.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/debian"
{
  printf 'Source: egglogu-sync\n'
  for pkg in "${PRODUCTS[@]}"; do printf '\nPackage: %s\nArchitecture: any\n' "$pkg"; done
} > "$WORK/debian/control"

if [ -z "$OUT" ]; then OUT="$REPO/.build/deb"; fi
mkdir -p "$OUT" || die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"

# Broker configuration examples from mosquitto/ (only the named files; scripts for tests and
# demos stay out). A missing one is skipped with a note.
stage_mosquitto() { # destination file...
  local dest="$1" name
  shift
  for name in "$@"; do
    if [ -f "$REPO/mosquitto/$name" ]; then
      install -D -m 0644 "$REPO/mosquitto/$name" "$dest/$name"
    else
      note "no mosquitto/$name: not packaged"
    fi
  done
}

write_copyright() { # file
  local license="" candidate
  for candidate in LICENSE LICENSE.md LICENSE.txt COPYING; do
    [ -f "$REPO/$candidate" ] && { license="$REPO/$candidate"; break; }
  done
  if [ -n "$license" ]; then
    install -m 0644 "$license" "$1"
  else
    printf '%s\n' "egglogu-sync (EGGlogU sync agent and server)" "" \
      "Copyright: the EGGlogU maintainers." \
      "No license file was present in the source tree when this package was built." > "$1"
    chmod 0644 "$1"
  fi
}

build_package() { # package scripts-dir example summary description mosquitto-file...
  local pkg="$1" scripts="$DEPLOY/debian/$2" example="$3" summary="$4" description="$5"
  shift 5
  local root="$WORK/debian/$pkg" unit="$pkg.service"
  mkdir -p "$root/DEBIAN"

  install -D -m 0755 "$BIN_DIR/$pkg" "$root/usr/bin/$pkg"
  if [ "$STRIP" = 1 ]; then
    strip --strip-all "$root/usr/bin/$pkg" || die "strip failed on $pkg"
  fi
  install -D -m 0644 "$DEPLOY/$unit" "$root/lib/systemd/system/$unit"

  local doc="$root/usr/share/doc/$pkg"
  install -D -m 0644 "$scripts/README.md" "$doc/README.md"
  install -D -m 0644 "$scripts/$example" "$doc/$example"
  write_copyright "$doc/copyright"
  # The example also lives outside /usr/share/doc, which some systems exclude from installs
  # (path-exclude in /etc/dpkg/dpkg.cfg.d): the server's postinst copies it from there.
  install -D -m 0644 "$scripts/$example" "$root/usr/share/$pkg/$example"
  stage_mosquitto "$root/usr/share/$pkg/mosquitto" "$@"

  local s
  for s in postinst prerm postrm; do
    install -m 0755 "$scripts/$s" "$root/DEBIAN/$s"
  done
  # No conffiles: nothing is shipped in /etc. The maintainer scripts create the configuration
  # directory, secrets and (server only) a first server.conf, and never overwrite them.

  local depends installed_size
  depends="$(compute_depends "$pkg" "usr/bin/$pkg")"
  installed_size="$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)"
  {
    echo "Package: $pkg"
    echo "Version: $VERSION"
    echo "Architecture: $ARCH"
    echo "Maintainer: $MAINTAINER"
    echo "Installed-Size: $installed_size"
    echo "Depends: $depends, adduser | passwd"
    echo "Suggests: mosquitto"
    echo "Section: net"
    echo "Priority: optional"
    echo "Description: $summary"
    sed 's/^$/./; s/^/ /' <<< "$description"
  } > "$root/DEBIAN/control"

  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum \
    | sed 's|  \./|  |') > "$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

  local deb="$OUT/${pkg}_${VERSION#*:}_${ARCH}.deb"
  dpkg-deb -Zxz --root-owner-group --build "$root" "$deb" >&2 || die "dpkg-deb failed for $pkg"
  printf '%s\n' "$deb"
}

AGENT_DESC="Keeps an EGGlogU farm's records in a local SQLite replica on a farm
gateway and syncs them with the EGGlogU sync server: in real time over MQTT,
polling while the broker is away.

Installs the egglogu-agent.service systemd unit (user egglogu-agent, state
in /var/lib/egglogu-agent) and the gateway broker examples in
/usr/share/egglogu-agent/mosquitto. Provision it with
\`egglogu-sync-server provision\`: the service starts once
/etc/egglogu-agent/agent.conf and the token exist."

SERVER_DESC="Serves the EGGlogU delta-sync protocol over HTTP(S) for many farms, with
one SQLite database per farm, device tokens (HS256 JWT) and change notices to
gateways over MQTT.

Installs the egglogu-sync-server.service systemd unit (user egglogu-sync, data
in /var/lib/egglogu-sync-server), creates /etc/egglogu-sync-server/server.conf
and a JWT secret on first install, and ships the central broker examples in
/usr/share/egglogu-sync-server/mosquitto."

build_package egglogu-agent agent agent.conf.example \
  "EGGlogU edge sync agent for farm gateways" "$AGENT_DESC" README.md gateway.conf gateway.acl
build_package egglogu-sync-server server server.conf.example \
  "EGGlogU sync server" "$SERVER_DESC" README.md central.conf central.acl
