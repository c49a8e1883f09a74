#!/usr/bin/env bash
# Build the ext4 root-filesystem image that demo-runtime's tests boot.
#
# Needs neither root nor mounting: the root filesystem is assembled in a
# staging directory and written into the image with `mkfs.ext4 -d`.  When not
# run as root, staging and mkfs run inside one fakeroot session, so files in
# the image are owned by root and device nodes from tarballs survive.
#
# Run `build.sh --help` for the options.
set -euo pipefail
umask 022
# mkfs.ext4 and debugfs live in /sbin, which is not on an ordinary user's PATH.
PATH="$PATH:/usr/sbin:/sbin"

PROG=${0##*/}
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
HERE=$(dirname -- "$SELF")

# --- The pinned Alpine release ------------------------------------------------
# Alpine minirootfs 3.20.3 (September 2024).  SHA-256: the values published in
# alpine-minirootfs-3.20.3-ARCH.tar.gz.sha256, as pinned identically by many
# unrelated public projects (the CDN was not reachable when they were pinned
# here).  SHA-512: the values the Alpine project commits itself in
# alpinelinux/docker-alpine (checksums.sha512 of its 3.20.3 image).  A download
# must match both.
readonly PINNED_ALPINE_VERSION=3.20.3
readonly PINNED_SHA256_x86_64=d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c
readonly PINNED_SHA256_aarch64=041fa34a81788242df9e78fa69b97ab45b8ec47ddbf88864755610414a7bf3de
readonly PINNED_SHA512_x86_64=9d5405f61f8a6ebc02461ba75346fbf1a63a4eab8510a0158dd321cee0c4dafe28c2a3d2cb7c3d75e2a8130dae0c3c92382f5b6adeea309eafc97621c5bf6400
readonly PINNED_SHA512_aarch64=cb3ba1d3ac8b90cb85a4fe2a0e26a42af542f64ea86598d0409bc35493c4e561229f8d3142a23013c98b1a037495a8bf123ff977066230ab36a3a13dc92da9c4
readonly DEFAULT_MIRROR=https://dl-cdn.alpinelinux.org/alpine
readonly CONNECT_TIMEOUT=10  # seconds; an unreachable mirror fails well within 15 s
readonly DEFAULT_HEADROOM_MB=16
readonly MiB=1048576

usage() {
    cat <<EOF
Usage: $PROG [OPTIONS]

Build an ext4 image holding a small root filesystem for demo-runtime's tests.
No root and no mounting needed (mkfs.ext4 -d; fakeroot when not root).

Source (pick at most one; the default is the pinned Alpine minirootfs):
  (none)                 Download the Alpine minirootfs $PINNED_ALPINE_VERSION for this machine
                         (x86_64 or aarch64, from uname -m), verify its pinned
                         SHA-256 and SHA-512, cache it under testcontainer/cache/.
  --alpine-version VER   Download Alpine minirootfs VER instead (e.g. 3.21.3) and
                         verify it against the .sha256 file published next to it.
  --tarball FILE         Use a local root-filesystem tarball (.tar, .tar.gz/.tgz,
                         .tar.xz, .tar.bz2).  Numeric owners and device nodes in
                         the tarball are kept.  Image archives (docker save,
                         podman save, OCI) are refused: use
                         demo-runtime image import FILE.
  --rootfs DIR           Use a local directory.  Files owned by DIR's owner are
                         stored as root (0:0); other owners are kept.
  --busybox              Offline: build a minimal rootfs from the host's static
                         busybox (Debian package busybox-static, /bin/busybox).

Output and size:
  -o, --output PATH      Image to write (default: testcontainer/container.img).
                         An existing image there is replaced atomically.
  --size SIZE            Image size with a unit K, M or G (binary), e.g. 256M.
                         Default: content x 1.25 + headroom, rounded up to MiB.
  --headroom MB          Free space in MiB added to the default size (default $DEFAULT_HEADROOM_MB).

Extras:
  --extras-dir DIR       Compile every DIR/*.c statically (\$CC, default cc:
                         cc -static -O2 -o NAME NAME.c) into the image's
                         /usr/local/bin/NAME (default: testcontainer/src).
                         Skipped with a warning if no compiler can link -static.
  --no-extras            Do not compile or add extras.

  -h, --help             Show this help and exit.

Environment:
  ALPINE_MIRROR          Alpine mirror base URL (default $DEFAULT_MIRROR);
                         http://, https:// or file://.
  ALPINE_ARCH            Alpine architecture to download (default: uname -m).
  BUILD_IMAGE_CACHE_DIR  Download cache (default testcontainer/cache).
  BUSYBOX                Static busybox used by --busybox (default /bin/busybox).
  CC                     C compiler for the extras (default cc).
  PYTHON                 Python 3 that runs the image writer (default python3).
  DEMO_RUNTIME_SRC       Where runtime/images/ext4.py is (default: this script's
                         checkout, the directory above testcontainer/).

Downloads use curl (or wget) with a ${CONNECT_TIMEOUT}s connect timeout.  Without
network access, use --busybox, --tarball or --rootfs.
EOF
}

say()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# Bytes for a size such as 256M, 1G, 512K, 300MiB.
parse_size() {
    local s=$1 num unit
    if [[ ! $s =~ ^([0-9]+)([KkMmGg])(i?[Bb])?$ ]]; then
        die "--size '$s' is not a size with a unit, e.g. 256M, 1G or 65536K"
    fi
    num=$((10#${BASH_REMATCH[1]}))
    unit=${BASH_REMATCH[2]}
    case $unit in
        K|k) echo $((num * 1024)) ;;
        M|m) echo $((num * MiB)) ;;
        G|g) echo $((num * 1024 * MiB)) ;;
    esac
}

ceil_mib() { echo $(( ($1 + MiB - 1) / MiB )); }

sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }
sha512_of() { sha512sum -- "$1" | cut -d' ' -f1; }

# ----------------------------------------------------------------------------
# Stage: runs as root, or inside fakeroot as `build.sh --internal-stage` with
# its parameters in BI_* environment variables.  Populates $BI_STAGE from the
# source, adds the extras, sizes the image and runs mkfs.ext4 into $BI_TMP_IMG.
# ----------------------------------------------------------------------------

stage_busybox() {
    local root=$1 bb=$2 applet nologin=/bin/false banner version
    install -d -m 0755 "$root"/{bin,sbin,usr,usr/bin,usr/sbin,usr/local,usr/local/bin,etc,proc,sys,dev,home,var,run,mnt,opt}
    install -d -m 0700 "$root/root"
    install -d -m 1777 "$root/tmp" "$root/var/tmp"
    install -m 0755 "$bb" "$root/bin/busybox"
    # Applet links, absolute like Alpine's (genrootfs.sh: ln -s /bin/busybox).
    while IFS= read -r applet; do
        case $applet in
            */*) ;;
            *) continue ;;           # e.g. "linuxrc": an initrd hook, not wanted here
        esac
        [[ $applet == bin/busybox ]] && continue
        [[ -d $root/${applet%/*} ]] || install -d -m 0755 "$root/${applet%/*}"
        [[ -e $root/$applet || -L $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
    done < <("$bb" --list-full)
    [[ -e $root/bin/sh ]] || ln -s /bin/busybox "$root/bin/sh"
    for applet in sbin/nologin usr/sbin/nologin; do
        if [[ -L $root/$applet ]]; then nologin=/$applet; break; fi
    done

    banner=$("$bb" --help 2>&1 || true)
    version=unknown
    [[ $banner =~ BusyBox\ v([0-9][0-9.]*) ]] && version=${BASH_REMATCH[1]}

    # The same account lines as Alpine's alpine-baselayout, reduced to root,
    # tty (gid 5) and nobody.
    printf '%s\n' \
        'root:x:0:0:root:/root:/bin/sh' \
        "nobody:x:65534:65534:nobody:/:$nologin" > "$root/etc/passwd"
    printf '%s\n' 'root:x:0:root' 'tty:x:5:' 'nobody:x:65534:' > "$root/etc/group"
    # alpine-baselayout ships /etc/hostname with "localhost" and this /etc/hosts.
    printf 'localhost\n' > "$root/etc/hostname"
    printf '127.0.0.1\tlocalhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n' \
        > "$root/etc/hosts"
    cat > "$root/etc/os-release" <<EOF
NAME="BusyBox"
ID=busybox
VERSION_ID=$version
PRETTY_NAME="BusyBox $version (demo-runtime offline test rootfs)"
EOF
    chmod 0644 "$root"/etc/{passwd,group,hostname,hosts,os-release}
}

stage_rootfs_dir() {
    local root=$1 dir=$2 uid gid
    if ! cp -a -- "$dir/." "$root/" 2> "$BI_WORK/cp.log"; then
        die "could not copy --rootfs $dir: $(tail -n 1 "$BI_WORK/cp.log") (unreadable files? run as root or use --tarball)"
    fi
    # The directory's owner (you, typically) becomes root in the image.  Under
    # fakeroot your own files already read as 0:0.
    uid=$(stat -c %u -- "$dir")
    gid=$(stat -c %g -- "$dir")
    if [[ $uid != 0 ]]; then
        find "$root" -uid "$uid" -exec chown -h 0 {} +
    fi
    if [[ $gid != 0 ]]; then
        find "$root" -gid "$gid" -exec chgrp -h 0 {} +
    fi
}

stage_tarball() {
    local root=$1 file=$2
    if ! tar -x --numeric-owner --same-owner --same-permissions -f "$file" -C "$root" \
            2> "$BI_WORK/tar.log"; then
        die "could not extract $file: $(grep -v '^tar: Exiting' "$BI_WORK/tar.log" | tail -n 1)"
    fi
}

internal_stage() {
    : "${BI_WORK:?} ${BI_STAGE:?} ${BI_TMP_IMG:?} ${BI_KIND:?}"
    local root=$BI_STAGE result content size journal f name
    install -d -m 0755 "$root"

    case $BI_KIND in
        busybox) stage_busybox "$root" "$BI_SRC" ;;
        rootfs)  stage_rootfs_dir "$root" "$BI_SRC" ;;
        tarball|alpine) stage_tarball "$root" "$BI_SRC" ;;
        *) die "internal: unknown source kind '$BI_KIND'" ;;
    esac

    if [[ -n ${BI_EXTRAS:-} ]]; then
        for f in "$BI_EXTRAS"/*; do
            [[ -f $f ]] || continue
            name=${f##*/}
            install -D -m 0755 "$f" "$root/usr/local/bin/$name"
        done
    fi

    # Sizing and mkfs.ext4 -d: the runtime's own implementation (runtime/images/ext4.py),
    # the one `demo-runtime image import` uses.
    if ! result=$(PYTHONPATH=$BI_RUNTIME_SRC "$BI_PYTHON" -m runtime.images.ext4 \
            "$root" "$BI_TMP_IMG" "${BI_SIZE:-}" "$BI_HEADROOM" "${BI_SIZE_ARG:-}" 2> "$BI_WORK/ext4.log"); then
        die "$(grep -v '^$' "$BI_WORK/ext4.log" | tail -n 1)"
    fi
    read -r size content journal <<< "$result"
    if [[ $journal == 0 ]]; then
        warn "the image is too small for an ext4 journal and has none; a larger --size adds one"
    fi
    printf '%s %s\n' "$size" "$content" > "$BI_WORK/result"
}

if [[ ${1:-} == --internal-stage ]]; then
    internal_stage
    exit 0
fi

# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------

OUTPUT=$HERE/container.img
SOURCE=
SOURCE_ARG=
ALPINE_VERSION=
SIZE_ARG=
HEADROOM=$DEFAULT_HEADROOM_MB
EXTRAS_DIR=$HERE/src
EXTRAS=1
EXTRAS_DIR_SET=0

set_source() {
    if [[ -n $SOURCE ]]; then
        die "choose one source: $SOURCE_OPT and $1 were both given"
    fi
    SOURCE=$2
    SOURCE_OPT=$1
}
need_value() {
    if [[ $# -lt 2 || -z $2 ]]; then
        die "$1 needs a value (see --help)"
    fi
}

SOURCE_OPT=
while [[ $# -gt 0 ]]; do
    opt=$1
    val=
    has_inline=0
    if [[ $opt == --*=* ]]; then
        val=${opt#*=}
        opt=${opt%%=*}
        has_inline=1
    fi
    take() {  # the option's value: inline (--opt=value) or the next argument
        if (( has_inline )); then
            [[ -n $val ]] || die "$opt needs a value (see --help)"
            VALUE=$val
            SHIFT=1
        else
            need_value "$opt" "${2-}"
            [[ $2 != -* ]] || die "$opt needs a value, got option '$2' (use $opt=VALUE for a value starting with '-')"
            VALUE=$2
            SHIFT=2
        fi
    }
    case $opt in
        -h|--help) usage; exit 0 ;;
        -o|--output) take "$@"; OUTPUT=$VALUE; shift "$SHIFT" ;;
        --alpine-version) take "$@"; ALPINE_VERSION=$VALUE; shift "$SHIFT" ;;
        --tarball) take "$@"; set_source --tarball tarball; SOURCE_ARG=$VALUE; shift "$SHIFT" ;;
        --rootfs) take "$@"; set_source --rootfs rootfs; SOURCE_ARG=$VALUE; shift "$SHIFT" ;;
        --busybox)
            (( has_inline )) && die "--busybox takes no value"
            set_source --busybox busybox; shift ;;
        --size) take "$@"; SIZE_ARG=$VALUE; shift "$SHIFT" ;;
        --headroom) take "$@"; HEADROOM=$VALUE; shift "$SHIFT" ;;
        --extras-dir) take "$@"; EXTRAS_DIR=$VALUE; EXTRAS_DIR_SET=1; shift "$SHIFT" ;;
        --no-extras)
            (( has_inline )) && die "--no-extras takes no value"
            EXTRAS=0; shift ;;
        --) shift; [[ $# -eq 0 ]] || die "unexpected argument '$1' (see --help)" ;;
        -*) die "unknown option '$opt' (see --help)" ;;
        *) die "unexpected argument '$opt' (see --help)" ;;
    esac
done

# --- Validate ----------------------------------------------------------------
if [[ -n $ALPINE_VERSION ]]; then
    [[ -z $SOURCE ]] || die "--alpine-version only applies to the Alpine download, not to $SOURCE_OPT"
    [[ $ALPINE_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+(_rc[0-9]+)?$ ]] \
        || die "--alpine-version '$ALPINE_VERSION' is not a release like 3.20.3"
fi
[[ -n $SOURCE ]] || SOURCE=alpine

[[ $HEADROOM =~ ^[0-9]+$ ]] || die "--headroom '$HEADROOM' is not a whole number of MiB"
HEADROOM=$((10#$HEADROOM))
SIZE_BYTES=
if [[ -n $SIZE_ARG ]]; then
    SIZE_BYTES=$(parse_size "$SIZE_ARG")
    (( SIZE_BYTES >= MiB )) || die "--size $SIZE_ARG is too small: the minimum is 1M"
    SIZE_BYTES=$(( $(ceil_mib "$SIZE_BYTES") * MiB ))
fi

if (( EXTRAS_DIR_SET )) && [[ ! -d $EXTRAS_DIR ]]; then
    die "--extras-dir '$EXTRAS_DIR' is not a directory"
fi

case $SOURCE in
    tarball)
        [[ -f $SOURCE_ARG ]] || die "--tarball '$SOURCE_ARG' is not a file"
        [[ -r $SOURCE_ARG ]] || die "--tarball '$SOURCE_ARG' is not readable"
        case $SOURCE_ARG in
            *.tar|*.tar.gz|*.tgz|*.tar.xz|*.txz|*.tar.bz2|*.tbz2) ;;
            *) die "--tarball '$SOURCE_ARG' is not a .tar, .tar.gz, .tar.xz or .tar.bz2 file" ;;
        esac
        case $SOURCE_ARG in
            *.xz|*.txz) command -v xz > /dev/null || die "xz is needed for $SOURCE_ARG (apt-get install xz-utils)" ;;
            *.bz2|*.tbz2) command -v bzip2 > /dev/null || die "bzip2 is needed for $SOURCE_ARG (apt-get install bzip2)" ;;
        esac
        # An image archive holds layers, not a root: the runtime's importer applies them.
        if (set +o pipefail; tar -tf "$SOURCE_ARG" 2> /dev/null | grep -qxE '(\./)?(manifest\.json|oci-layout)'); then
            die "--tarball '$SOURCE_ARG' is an image archive (docker-archive or OCI), not a root filesystem; import it with: demo-runtime image import $SOURCE_ARG"
        fi
        SOURCE_ARG=$(readlink -f -- "$SOURCE_ARG")
        ;;
    rootfs)
        [[ -d $SOURCE_ARG ]] || die "--rootfs '$SOURCE_ARG' is not a directory"
        [[ -r $SOURCE_ARG && -x $SOURCE_ARG ]] || die "--rootfs '$SOURCE_ARG' is not readable"
        SOURCE_ARG=$(readlink -f -- "$SOURCE_ARG")
        [[ $SOURCE_ARG != / ]] || die "--rootfs / would copy the whole host; give a rootfs directory"
        ;;
    busybox)
        BB=${BUSYBOX:-/bin/busybox}
        if [[ ! -e $BB ]]; then
            if [[ -z ${BUSYBOX:-} ]]; then
                die "--busybox needs a static busybox at /bin/busybox, and busybox-static is not installed (apt-get install busybox-static)"
            fi
            die "--busybox: BUSYBOX=$BB does not exist"
        fi
        [[ -f $BB && -x $BB ]] || die "--busybox: $BB is not an executable file"
        if command -v file > /dev/null; then
            linkage=$(file -bL -- "$BB")
            [[ $linkage == *ELF* ]] || die "--busybox: $BB is not an ELF binary ($linkage)"
            if [[ $linkage != *"statically linked"* && $linkage != *"static-pie linked"* ]]; then
                die "--busybox: $BB is dynamically linked and would not run in the image; install busybox-static (apt-get install busybox-static)"
            fi
        elif command -v ldd > /dev/null; then
            if ldd "$BB" 2>&1 | grep -q '=>'; then
                die "--busybox: $BB is dynamically linked and would not run in the image; install busybox-static (apt-get install busybox-static)"
            fi
        else
            die "--busybox: need 'file' or 'ldd' to check that $BB is static (apt-get install file)"
        fi
        "$BB" --list-full > /dev/null 2>&1 || die "--busybox: '$BB --list-full' failed; is it a busybox binary?"
        SOURCE_ARG=$(realpath -s -- "$BB")
        ;;
    alpine)
        ALPINE_VERSION=${ALPINE_VERSION:-$PINNED_ALPINE_VERSION}
        ARCH=${ALPINE_ARCH:-$(uname -m)}
        case $ARCH in
            x86_64|aarch64) ;;
            arm64) ARCH=aarch64 ;;
            *) die "no Alpine minirootfs download for architecture '$ARCH' (supported: x86_64, aarch64); use --busybox, --tarball or --rootfs" ;;
        esac
        ;;
esac

[[ -n $OUTPUT ]] || die "--output needs a path"
[[ $OUTPUT == */ ]] && die "--output '$OUTPUT' names a directory; give a file path"
[[ -d $OUTPUT ]] && die "--output '$OUTPUT' is a directory; give a file path"
OUT_DIR=$(dirname -- "$OUTPUT")
[[ -d $OUT_DIR ]] || die "--output: directory '$OUT_DIR' does not exist"
[[ -w $OUT_DIR ]] || die "--output: directory '$OUT_DIR' is not writable"
OUTPUT=$(readlink -f -- "$OUT_DIR")/${OUTPUT##*/}

# --- Tools ---------------------------------------------------------------------
command -v mkfs.ext4 > /dev/null || die "mkfs.ext4 not found (apt-get install e2fsprogs)"
mke2fs_version=$(mkfs.ext4 -V 2>&1 | head -n 1 || true)
if [[ $mke2fs_version =~ ([0-9]+)\.([0-9]+) ]]; then
    if (( BASH_REMATCH[1] == 1 && BASH_REMATCH[2] < 43 )); then
        die "mkfs.ext4 is too old for -d ($mke2fs_version); e2fsprogs 1.43 or newer is needed"
    fi
fi
command -v tar > /dev/null || die "tar not found"
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" > /dev/null || die "$PYTHON not found (apt-get install python3): it writes the image"
RUNTIME_SRC=${DEMO_RUNTIME_SRC:-$(dirname -- "$HERE")}
[[ -f $RUNTIME_SRC/runtime/images/ext4.py ]] \
    || die "the runtime's sources are not at $RUNTIME_SRC (runtime/images/ext4.py); set DEMO_RUNTIME_SRC"
IS_ROOT=0
[[ $EUID -eq 0 ]] && IS_ROOT=1
if (( ! IS_ROOT )); then
    command -v fakeroot > /dev/null \
        || die "fakeroot is needed to build without root (apt-get install fakeroot), or run as root"
    fakeroot -- true 2> /dev/null || die "fakeroot does not work here; run as root instead"
fi

# --- Temporary files, removed on every exit path --------------------------------
WORK=
TMP_IMG=
DL_PART=
cleanup() {
    if [[ -n $TMP_IMG ]]; then rm -f -- "$TMP_IMG"; fi
    if [[ -n $DL_PART ]]; then rm -f -- "$DL_PART"; fi
    if [[ -n $WORK && -d $WORK ]]; then
        chmod -R u+rwX -- "$WORK" 2> /dev/null || true
        rm -rf -- "$WORK"
    fi
}
on_signal() {
    trap - EXIT INT TERM HUP
    cleanup
    say "interrupted; nothing was written to $OUTPUT"
    trap - "$1"
    kill -s "$1" "$$"
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

WORK=$(mktemp -d "${TMPDIR:-/tmp}/build-image.XXXXXX")

# --- Download the Alpine minirootfs ------------------------------------------------
download() {  # URL DEST
    local url=$1 dest=$2
    local -a progress
    if command -v curl > /dev/null; then
        if [[ -t 2 ]]; then progress=(--progress-bar); else progress=(-sS); fi
        curl -fL "${progress[@]}" --proto '=http,https,file' \
            --connect-timeout "$CONNECT_TIMEOUT" --speed-limit 1 --speed-time 30 \
            -o "$dest" -- "$url"
    elif command -v wget > /dev/null; then
        if [[ $url == file://* ]]; then
            cp -- "${url#file://}" "$dest"
            return
        fi
        if [[ -t 2 ]]; then progress=(--progress=bar:force); else progress=(-nv); fi
        wget "${progress[@]}" --tries=1 --dns-timeout="$CONNECT_TIMEOUT" \
            --connect-timeout="$CONNECT_TIMEOUT" --read-timeout=30 -O "$dest" -- "$url"
    else
        die "neither curl nor wget is installed (apt-get install curl), or use --busybox"
    fi
}

download_or_die() {  # URL DEST WHAT
    if ! download "$1" "$2"; then
        rm -f -- "$2"
        die "could not download $3 from $1 (mirror unreachable or no such release?); offline, use --busybox (or --tarball/--rootfs), or set ALPINE_MIRROR"
    fi
}

fetch_alpine() {
    local mirror=${ALPINE_MIRROR:-$DEFAULT_MIRROR}
    local cache=${BUILD_IMAGE_CACHE_DIR:-$HERE/cache}
    local branch name url file sumfile want256 want512='' got
    mirror=${mirror%/}
    [[ $ALPINE_VERSION =~ ^([0-9]+)\.([0-9]+) ]]
    branch=v${BASH_REMATCH[1]}.${BASH_REMATCH[2]}
    name=alpine-minirootfs-$ALPINE_VERSION-$ARCH.tar.gz
    url=$mirror/$branch/releases/$ARCH/$name
    file=$cache/$name
    sumfile=$file.sha256
    mkdir -p -- "$cache" 2> /dev/null || die "cannot create the download cache $cache"

    if [[ $ALPINE_VERSION == "$PINNED_ALPINE_VERSION" ]]; then
        case $ARCH in
            x86_64)  want256=$PINNED_SHA256_x86_64;  want512=$PINNED_SHA512_x86_64 ;;
            aarch64) want256=$PINNED_SHA256_aarch64; want512=$PINNED_SHA512_aarch64 ;;
        esac
    else
        # Not pinned: trust the .sha256 published next to the tarball (cached
        # with it once fetched).
        if [[ ! -s $sumfile ]]; then
            [[ -w $cache ]] || die "the download cache $cache is not writable"
            DL_PART=$(mktemp "$cache/.$name.sha256.XXXXXX")
            download_or_die "$url.sha256" "$DL_PART" "the checksum of Alpine $ALPINE_VERSION ($ARCH)"
            chmod 0644 -- "$DL_PART"
            mv -f -- "$DL_PART" "$sumfile"
            DL_PART=
        fi
        want256=$(awk 'NR == 1 { print tolower($1) }' "$sumfile")
        if [[ ! $want256 =~ ^[0-9a-f]{64}$ ]]; then
            rm -f -- "$sumfile"
            die "$url.sha256 does not hold a SHA-256 checksum"
        fi
    fi

    if [[ -f $file ]]; then
        got=$(sha256_of "$file")
        if [[ $got == "$want256" && ( -z $want512 || $(sha512_of "$file") == "$want512" ) ]]; then
            say "using cached $file (checksum verified)"
            ALPINE_TARBALL=$file
            return
        fi
        warn "cached $file does not match its checksum; downloading it again"
        rm -f -- "$file"
    fi

    [[ -w $cache ]] || die "the download cache $cache is not writable"
    say "downloading $url"
    DL_PART=$(mktemp "$cache/.$name.XXXXXX")
    download_or_die "$url" "$DL_PART" "Alpine minirootfs $ALPINE_VERSION ($ARCH)"
    got=$(sha256_of "$DL_PART")
    if [[ $got != "$want256" ]]; then
        rm -f -- "$DL_PART"
        [[ $ALPINE_VERSION == "$PINNED_ALPINE_VERSION" ]] || rm -f -- "$sumfile"
        die "SHA-256 mismatch for $name: expected $want256, got $got; the download is corrupt or the mirror is not trustworthy, nothing was built"
    fi
    if [[ -n $want512 ]]; then
        got=$(sha512_of "$DL_PART")
        if [[ $got != "$want512" ]]; then
            rm -f -- "$DL_PART"
            die "SHA-512 mismatch for $name: expected $want512, got $got; the download is corrupt or the mirror is not trustworthy, nothing was built"
        fi
    fi
    chmod 0644 -- "$DL_PART"
    mv -f -- "$DL_PART" "$file"
    DL_PART=
    say "verified $name (sha256 $want256)"
    ALPINE_TARBALL=$file
}

case $SOURCE in
    alpine)
        fetch_alpine
        STAGE_SRC=$ALPINE_TARBALL
        if [[ $ALPINE_VERSION == "$PINNED_ALPINE_VERSION" ]]; then
            SOURCE_DESC="Alpine minirootfs $ALPINE_VERSION ($ARCH, pinned SHA-256 and SHA-512 verified)"
        else
            SOURCE_DESC="Alpine minirootfs $ALPINE_VERSION ($ARCH, verified against the mirror's .sha256)"
        fi
        ;;
    tarball) STAGE_SRC=$SOURCE_ARG; SOURCE_DESC="tarball $SOURCE_ARG" ;;
    rootfs)  STAGE_SRC=$SOURCE_ARG; SOURCE_DESC="directory $SOURCE_ARG" ;;
    busybox)
        STAGE_SRC=$SOURCE_ARG
        bb_banner=$("$SOURCE_ARG" --help 2>&1 || true)
        bb_banner=${bb_banner%%$'\n'*}
        SOURCE_DESC="host busybox $SOURCE_ARG (${bb_banner%% multi-call*})"
        ;;
esac

# --- Extras: testcontainer/src/*.c, compiled statically -----------------------------
EXTRAS_BUILT=()
EXTRAS_OUT=
if (( EXTRAS )) && [[ -d $EXTRAS_DIR ]]; then
    shopt -s nullglob
    sources=("$EXTRAS_DIR"/*.c)
    shopt -u nullglob
    if (( ${#sources[@]} )); then
        CC=${CC:-cc}
        printf 'int main(void) { return 0; }\n' > "$WORK/cc-check.c"
        if ! command -v "$CC" > /dev/null; then
            warn "no C compiler ('$CC'); skipping extras: ${sources[*]##*/} (apt-get install gcc libc6-dev)"
        elif ! "$CC" -static -O2 -o "$WORK/cc-check" "$WORK/cc-check.c" > /dev/null 2>&1; then
            warn "'$CC' cannot link with -static; skipping extras: ${sources[*]##*/} (apt-get install libc6-dev)"
        else
            EXTRAS_OUT=$WORK/extras
            mkdir -p "$EXTRAS_OUT"
            for src in "${sources[@]}"; do
                name=${src##*/}
                name=${name%.c}
                [[ $name =~ ^[A-Za-z0-9._+-]+$ ]] || die "extras: '$src' has an unusable name"
                say "compiling $src -> /usr/local/bin/$name"
                if ! "$CC" -static -O2 -o "$EXTRAS_OUT/$name" "$src" 2> "$WORK/cc.log"; then
                    cat "$WORK/cc.log" >&2
                    die "extras: compiling $src failed (see above)"
                fi
                EXTRAS_BUILT+=("/usr/local/bin/$name")
            done
        fi
    fi
fi

# --- Stage and mkfs (inside fakeroot unless root) ---------------------------------
TMP_IMG=$(mktemp --suffix=.img "$OUT_DIR/.${OUTPUT##*/}.tmp.XXXXXX")
export BI_WORK=$WORK BI_STAGE=$WORK/rootfs BI_TMP_IMG=$TMP_IMG BI_KIND=$SOURCE \
    BI_SRC=$STAGE_SRC BI_EXTRAS=$EXTRAS_OUT BI_SIZE=$SIZE_BYTES BI_SIZE_ARG=$SIZE_ARG \
    BI_HEADROOM=$HEADROOM BI_PYTHON=$PYTHON BI_RUNTIME_SRC=$RUNTIME_SRC
say "building the image from $SOURCE_DESC"
if (( IS_ROOT )); then
    internal_stage
else
    fakeroot -- "$BASH" "$SELF" --internal-stage || exit 1
fi
read -r IMG_BYTES CONTENT_BYTES < "$WORK/result"

chmod 0644 -- "$TMP_IMG"
mv -f -- "$TMP_IMG" "$OUTPUT"
TMP_IMG=

echo "Built $OUTPUT"
echo "  size:    $((IMG_BYTES / MiB)) MiB ext4 image, about $(ceil_mib "$CONTENT_BYTES") MiB of content"
echo "  source:  $SOURCE_DESC"
if (( ${#EXTRAS_BUILT[@]} )); then
    echo "  extras:  ${EXTRAS_BUILT[*]}"
fi
