#!/usr/bin/env bash
# consumer_test.sh BUILD_DIR CONSUMER_C - the library as a user gets it:
# `meson install` into a temporary destination, then a program compiled
# against nothing but what was installed, found through the installed
# autoenc.pc, linked once with the shared library and once with the static
# one (`pkg-config --static`, so Requires.private and Libs.private must be
# complete), and both programs run.
#
# The destination directory is used as a pkg-config sysroot
# (PKG_CONFIG_SYSROOT_DIR), so every path of autoenc.pc (prefix /usr/local,
# say) resolves inside it.  The packages autoenc.pc requires (openblas,
# lapacke, zlib, libpng) are the system's, and the sysroot prefixes their
# paths too; so each folder on the way to the installed files gets symbolic
# links to the real system's other entries, and the sysroot looks like the
# system with libautoenc installed in it.  Where libautoenc-mpi was built,
# a second program is built through autoenc-mpi.pc and run under mpirun.
#
# Exit 77 (skipped) without pkg-config or a C compiler.
set -euo pipefail

build=$(cd "$1" && pwd)
source_c=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
cc=${CC:-cc}
command -v pkg-config >/dev/null || { echo "no pkg-config: skipped"; exit 77; }
command -v "$cc" >/dev/null || { echo "no C compiler: skipped"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/autoenc-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

# Only what a user's package gets: the library, header and .pc file.
meson install -C "$build" --no-rebuild --destdir "$root" \
  --tags runtime,devel > "$tmp/install.log" || {
  cat "$tmp/install.log"; exit 1; }

pc=$(find "$root" -name autoenc.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || { echo "autoenc.pc was not installed"; exit 1; }

# Link the real system's entries into each folder the install created.
overlay() { # overlay DIR: DIR is a path of the real root, "" for /
  local real=${1:-/} e name
  for e in "$real"/* "$real"/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    name=${e##*/}
    if [ -d "$root$1/$name" ] && [ ! -L "$root$1/$name" ]; then
      overlay "$1/$name"
    elif [ ! -e "$root$1/$name" ] && [ ! -L "$root$1/$name" ]; then
      ln -s "$e" "$root$1/$name"
    fi
  done
}
overlay ""

export PKG_CONFIG_PATH=${pc%/*}
export PKG_CONFIG_SYSROOT_DIR=$root
unset PKG_CONFIG_LIBDIR

# pkgconf puts the sysroot in front of --variable values, pkg-config does
# not: strip it to get the paths as the package sees them.
prefix=$(pkg-config --variable=prefix autoenc)
libdir=$(pkg-config --variable=libdir autoenc)
prefix=${prefix#"$root"}
libdir=${libdir#"$root"}
echo "installed: prefix $prefix, libdir $libdir, version $(pkg-config --modversion autoenc)"
[ -e "$root$libdir/libautoenc.so" ] || { echo "no shared library in $libdir"; exit 1; }

cflags=$(pkg-config --cflags autoenc)
warn="-std=c11 -Wall -Wextra -Wpedantic -Werror"

# Shared: -lautoenc finds libautoenc.so; run it against the installed copy.
# shellcheck disable=SC2086
"$cc" $warn $cflags -o "$tmp/consumer_shared" "$source_c" \
  $(pkg-config --libs autoenc)
echo "shared: $cc ... $(pkg-config --libs autoenc)"
LD_LIBRARY_PATH="$root$libdir" ldd "$tmp/consumer_shared" |
  grep -F "libautoenc.so" | tee "$tmp/ldd.txt"
grep -qF "$root$libdir/libautoenc.so" "$tmp/ldd.txt" || {
  echo "the program did not pick the installed libautoenc"; exit 1; }
LD_LIBRARY_PATH="$root$libdir" "$tmp/consumer_shared"

# Static: the same flags with --static, and the archive instead of the
# shared library (a linker prefers the .so when both sit in one folder).
if [ ! -f "$root$libdir/libautoenc.a" ]; then
  echo "no libautoenc.a (default_library=shared): static link not checked"
  exit 0
fi
static_libs=$(pkg-config --static --libs autoenc)
static_libs=${static_libs/-lautoenc/-l:libautoenc.a}
# shellcheck disable=SC2086
"$cc" $warn $(pkg-config --static --cflags autoenc) \
  -o "$tmp/consumer_static" "$source_c" $static_libs
echo "static: $cc ... $static_libs"
if readelf -d "$tmp/consumer_static" | grep -q 'NEEDED.*libautoenc'; then
  echo "the static program still needs libautoenc.so"; exit 1
fi
"$tmp/consumer_static"

# libautoenc-mpi, where it was built: its own .pc file brings MPI's flags
# and libautoenc's; the program runs on one rank under mpirun.
mpi_c=$(dirname "$source_c")/consumer_mpi.c
if [ -f "${pc%/*}/autoenc-mpi.pc" ]; then
  # shellcheck disable=SC2086
  "$cc" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags autoenc-mpi) \
    -o "$tmp/consumer_mpi" "$mpi_c" $(pkg-config --libs autoenc-mpi)
  echo "mpi: $cc ... $(pkg-config --libs autoenc-mpi)"
  LD_LIBRARY_PATH="$root$libdir" mpirun -np 1 --allow-run-as-root \
    -x LD_LIBRARY_PATH "$tmp/consumer_mpi"
else
  echo "no autoenc-mpi.pc (built with -Dmpi=disabled): not checked"
fi
echo "pkg-config consumer: OK"
