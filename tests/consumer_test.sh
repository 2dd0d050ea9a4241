#!/usr/bin/env bash
# consumer_test.sh BUILD_DIR CONSUMER_C - the library as a user gets it:
# `meson install` into a temporary destination, then a program compiled
# against nothing but what was installed, found through the installed
# autoenc.pc, linked once with the shared library and once with the static
# one (`pkg-config --static`, so Requires.private and Libs.private must be
# complete), and both programs run.
#
# The installation is tests/shell_lib.sh's install_into_sysroot, which says
# how the sysroot is made.  Where libautoenc-mpi was built, a second
# program is built through autoenc-mpi.pc and run under mpirun.
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

# shellcheck source=shell_lib.sh
. "$(dirname "$0")/shell_lib.sh"
install_into_sysroot "$build" "$root"
libdir=$installed_libdir
echo "installed: prefix $installed_prefix, libdir $libdir, version $(pkg-config --modversion autoenc)"

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
if [ -f "$PKG_CONFIG_PATH/autoenc-mpi.pc" ]; then
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
