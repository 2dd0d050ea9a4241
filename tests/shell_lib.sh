# shell_lib.sh - what the shell tests that build programs as a user does
# share; sourced by consumer_test.sh, doc_program_test.sh and
# tutorial_test.sh.

# extract_c_program PAGE HEADING OUT: the first ```c block after the line
# "## HEADING" of the Markdown page PAGE, up to its closing ```, into OUT;
# fails when there is none.
extract_c_program() {
  local page=$1 heading=$2 out=$3
  awk -v heading="## $heading" '
       $0 == heading { in_section = 1 }
       in_section && /^```c$/ { in_code = 1; next }
       in_code && /^```$/ { exit }
       in_code { print }' "$page" > "$out"
  [ -s "$out" ] || { echo "no program under \"## $heading\" in $page"; return 1; }
}

# install_into_sysroot BUILD_DIR ROOT: `meson install` of what a user's
# package gets (the library, header and .pc file) into the destination
# ROOT, which then serves as a pkg-config sysroot (PKG_CONFIG_SYSROOT_DIR),
# so that every path of autoenc.pc (prefix /usr/local, say) resolves inside
# it.  The packages autoenc.pc requires (openblas, lapacke, zlib, libpng)
# are the system's, and the sysroot prefixes their paths too; so each
# folder on the way to the installed files gets symbolic links to the real
# system's other entries, and the sysroot looks like the system with
# libautoenc installed in it.  Exports PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR; sets installed_prefix and installed_libdir (the
# paths as the package sees them: prefix $root$installed_libdir on disk).
install_into_sysroot() {
  local build=$1
  sysroot=$2
  meson install -C "$build" --no-rebuild --destdir "$sysroot" \
    --tags runtime,devel > "$sysroot.install.log" || {
    cat "$sysroot.install.log"; return 1; }

  local pc
  pc=$(find "$sysroot" -name autoenc.pc -path '*/pkgconfig/*' | head -n 1)
  [ -n "$pc" ] || { echo "autoenc.pc was not installed"; return 1; }
  overlay_system ""

  export PKG_CONFIG_PATH=${pc%/*}
  export PKG_CONFIG_SYSROOT_DIR=$sysroot
  unset PKG_CONFIG_LIBDIR

  # pkgconf puts the sysroot in front of --variable values, pkg-config does
  # not: strip it to get the paths as the package sees them.
  installed_prefix=$(pkg-config --variable=prefix autoenc)
  installed_libdir=$(pkg-config --variable=libdir autoenc)
  installed_prefix=${installed_prefix#"$sysroot"}
  installed_libdir=${installed_libdir#"$sysroot"}
  [ -e "$sysroot$installed_libdir/libautoenc.so" ] || {
    echo "no shared library in $installed_libdir"; return 1; }
}

# overlay_system DIR: link the real system's entries into each folder of
# $sysroot that the install created (DIR is a path of the real root, ""
# for /).
overlay_system() {
  local real=${1:-/} e name
  for e in "$real"/* "$real"/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    name=${e##*/}
    if [ -d "$sysroot$1/$name" ] && [ ! -L "$sysroot$1/$name" ]; then
      overlay_system "$1/$name"
    elif [ ! -e "$sysroot$1/$name" ] && [ ! -L "$sysroot$1/$name" ]; then
      ln -s "$e" "$sysroot$1/$name"
    fi
  done
}
