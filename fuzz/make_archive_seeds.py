#!/usr/bin/env python3
"""make_archive_seeds.py: write the tiny benign and hostile zip / tar(.gz) seeds of fuzz/corpus/{zip,targz}/."""
import calendar
import gzip
import io
import os
import stat
import struct
import sys
import tarfile
import warnings
import zipfile

warnings.filterwarnings("ignore", "Duplicate name")

HERE = os.path.dirname(os.path.abspath(__file__))
MTIME = (2024, 1, 1, 0, 0, 0)


def zinfo(name, mode=0o644, kind=stat.S_IFREG, compress=zipfile.ZIP_DEFLATED):
    zi = zipfile.ZipInfo(name, MTIME)
    zi.create_system = 3  # Unix: external_attr carries st_mode
    zi.external_attr = (kind | mode) << 16
    zi.compress_type = compress
    return zi


def make_zip(entries):
    """entries: (name, data, mode, kind) tuples; kind 'f' file, 'd' dir, 'l' symlink (data = target)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, mode, kind in entries:
            if kind == "d":
                z.writestr(zinfo(name.rstrip("/") + "/", mode, stat.S_IFDIR, zipfile.ZIP_STORED), b"")
            elif kind == "l":
                z.writestr(zinfo(name, 0o777, stat.S_IFLNK, zipfile.ZIP_STORED), data)
            else:
                z.writestr(zinfo(name, mode), data)
    return buf.getvalue()


def zip_lying_sizes():
    """A deflated 600 KiB file whose local and central headers both claim 10 bytes."""
    raw = make_zip([("liar.bin", b"\0" * (600 << 10), 0o644, "f")])
    real = 600 << 10
    out = bytearray(raw)
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        i = out.find(sig)
        struct.pack_into("<I", out, i + off, 10)  # uncompressed size field
        assert struct.unpack_from("<I", raw, i + off)[0] == real
    return bytes(out)


def tinfo(name, kind=tarfile.REGTYPE, mode=0o644, size=0, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.linkname = kind, mode, size, link
    ti.mtime = calendar.timegm(MTIME)
    ti.uname = ti.gname = "bot"
    ti.uid = ti.gid = 1000
    return ti


def make_tar(entries, fmt=tarfile.PAX_FORMAT):
    """entries: (name, data, mode, kind, link) with kind a tarfile type."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data, mode, kind, link in entries:
            ti = tinfo(name, kind, mode, len(data) if kind == tarfile.REGTYPE else 0, link)
            t.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def gz(b):
    return gzip.compress(b, mtime=0)


F, D, L, H = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE

ZIPS = {
    "ok": make_zip([("main.py", b"print('hi')\n", 0o644, "f"), ("lib/", b"", 0o755, "d"),
                    ("lib/util.py", b"x = 1\n", 0o600, "f"), ("run.sh", b"#!/bin/sh\n", 0o755, "f"),
                    ("current", b"lib", 0, "l"), ("./nested/./a//b.txt", b"b", 0, "f")]),
    "empty": make_zip([]),
    "traversal": make_zip([("ok.txt", b"fine", 0o644, "f"), ("../evil.txt", b"pwned", 0o644, "f")]),
    "traversal_inner": make_zip([("a/../../evil.txt", b"pwned", 0o644, "f")]),
    "absolute": make_zip([("/tmp/t0-fuzz-abs-evil.txt", b"pwned", 0o644, "f")]),
    "symlink_abs": make_zip([("etc", b"/etc", 0, "l"), ("etc/t0-evil", b"pwned", 0o644, "f")]),
    "symlink_dotdot": make_zip([("up", b"../..", 0, "l"), ("up/evil.txt", b"pwned", 0o644, "f")]),
    "write_through_link": make_zip([("real/", b"", 0o755, "d"), ("alias", b"real", 0, "l"),
                                   ("alias/x.txt", b"through", 0o644, "f")]),
    "file_over_link": make_zip([("l", b"target", 0, "l"), ("l", b"replace the link", 0o644, "f")]),
    "dir_then_file": make_zip([("a/", b"", 0o755, "d"), ("a", b"file over dir", 0o644, "f")]),
    "setuid": make_zip([("su", b"#!/bin/sh\n", 0o6755, "f"), ("sticky/", b"", 0o1777, "d")]),
    "mode_zero": make_zip([("m0", b"m", 0, "f"), ("d0/", b"", 0, "d")]),
    "bomb": make_zip([("zeros.bin", b"\0" * (2 << 20), 0o644, "f")]),
    "many_entries": make_zip([("f%03d" % i, b"", 0o644, "f") for i in range(80)]),
    "total_limit": make_zip([("p%d.bin" % i, b"\1" * (200 << 10), 0o644, "f") for i in range(6)]),
    "lying_sizes": zip_lying_sizes(),
    "long_name": make_zip([("d/" * 300 + "f", b"deep", 0o644, "f")]),
}

TARS = {
    "ok": make_tar([("bot/", b"", 0o755, D, ""), ("bot/state.json", b'{"pos":1}', 0o644, F, ""),
                    ("bot/link", b"", 0, L, "state.json"), ("./x/./y", b"y", 0o600, F, "")]),
    "traversal": make_tar([("../evil.txt", b"pwned", 0o644, F, "")]),
    "absolute": make_tar([("/tmp/t0-fuzz-abs-evil.txt", b"pwned", 0o644, F, "")]),
    "symlink_abs": make_tar([("etc", b"", 0, L, "/etc"), ("etc/t0-evil", b"pwned", 0o644, F, "")]),
    "symlink_dotdot": make_tar([("a/b", b"", 0, L, "../../x"), ("a/b/c", b"pwned", 0o644, F, "")]),
    "symlink_chain": make_tar([("l1", b"", 0, L, "l2"), ("l2", b"", 0, L, "."), ("l1/z", b"z", 0o644, F, "")]),
    "hardlink": make_tar([("f", b"data", 0o644, F, ""), ("h", b"", 0o644, H, "/etc/passwd")]),
    "devices": make_tar([("fifo", b"", 0o644, tarfile.FIFOTYPE, ""), ("null", b"", 0o666, tarfile.CHRTYPE, ""),
                         ("blk", b"", 0o666, tarfile.BLKTYPE, "")]),
    "setuid": make_tar([("su", b"#!/bin/sh\n", 0o6755, F, ""), ("sticky/", b"", 0o1777, D, "")]),
    "bomb": make_tar([("zeros.bin", b"\0" * (2 << 20), 0o644, F, "")]),
    "many_entries": make_tar([("f%03d" % i, b"", 0o644, F, "") for i in range(80)]),
    "total_limit": make_tar([("p%d.bin" % i, b"\1" * (200 << 10), 0o644, F, "") for i in range(6)]),
    "dir_over_link": make_tar([("d", b"", 0, L, "e"), ("d/", b"", 0o755, D, ""), ("d/f", b"f", 0o644, F, "")]),
    "gnu_longname": make_tar([("n" * 150 + "/" + "m" * 150, b"long", 0o644, F, "")], tarfile.GNU_FORMAT),
    "ustar_empty_name": make_tar([("./", b"", 0o755, D, ""), (".", b"", 0o755, D, "")], tarfile.USTAR_FORMAT),
}


# dar_extract reads a plain tar as well (libarchive detects the gzip filter), so a few seeds skip gzip and
# let the fuzzer mutate tar headers directly.
PLAIN_TARS = ("ok", "hardlink", "symlink_dotdot", "setuid")


def trim_tar(b):
    """Drop the record padding after the two zero blocks that end the archive."""
    end = len(b.rstrip(b"\0"))
    end = (end + 511) // 512 * 512
    return b[:end + 1024]


def main():
    for sub, table in (("zip", ZIPS), ("targz", TARS)):
        d = os.path.join(HERE, "corpus", sub)
        os.makedirs(d, exist_ok=True)
        for name, blob in sorted(table.items()):
            out = [(".zip", blob)] if sub == "zip" else [(".tar.gz", gz(blob))]
            if sub == "targz" and name in PLAIN_TARS:
                out.append((".tar", trim_tar(blob)))
            for suffix, data in out:
                with open(os.path.join(d, name + suffix), "wb") as f:
                    f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
