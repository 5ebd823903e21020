#!/usr/bin/env python3
"""Fill fuzz/corpus/<target>/ with seeds made from the real fixtures in tests/fixtures.

The corpus directories are not committed (libFuzzer adds to them); this script makes them
again from the fixtures: whole files where they are small, and pieces cut out of them (header
blobs from the SQLite databases and the .rpm files, OpenPGP signature packets from those
headers, an excerpt of a real primary.xml in every compression, an rpm-style SQLite database
with its -wal file). Inputs that the fixtures do not hold (.repo files, os-release, metalink)
are written here in the layouts the distributions ship.
"""
import bz2
import gzip
import lzma
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tests", "fixtures")
CORPUS = os.path.join(HERE, "corpus")
MAX_SEED = 600 * 1024


# An image author's OpenVEX document (the shape of the v0.2.0 specification's examples).
OPENVEX = """{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.org/vex/app-1.4",
  "author": "Team App <app@example.org>",
  "timestamp": "2024-11-20T10:00:00Z",
  "version": 1,
  "statements": [
    {
      "vulnerability": {"name": "CVE-2024-50602", "aliases": ["GHSA-0000-0000-0000"]},
      "products": [{"@id": "pkg:rpm/redhat/expat@2.5.0-2.el9?arch=x86_64",
                    "subcomponents": [{"@id": "pkg:rpm/redhat/expat?arch=src"}]}],
      "status": "not_affected",
      "justification": "vulnerable_code_not_in_execute_path",
      "impact_statement": "XML_ResumeParser is never called"
    },
    {
      "vulnerability": {"name": "CVE-2024-1"},
      "products": [{"@id": "pkg:rpm/redhat/pam@1:1.5.1-19.el9"}],
      "status": "affected",
      "action_statement": "update when 9.5 ships",
      "timestamp": "2024-11-21T10:00:00Z"
    }
  ]
}
"""


def fixture(*parts):
    return os.path.join(FIX, *parts)


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def put_file(target, path, name=None):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) <= MAX_SEED:
        put(target, name or os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path), data)


def header_entries(blob):
    """(tag, type, offset, count) of a header blob without the 8-byte magic, and its data."""
    il, dl = struct.unpack(">II", blob[:8])
    index = [struct.unpack(">IIiI", blob[8 + 16 * i: 24 + 16 * i]) for i in range(il)]
    data = blob[8 + 16 * il: 8 + 16 * il + dl]
    return index, data


def rpm_headers(path):
    """The signature header and main header blobs (magic stripped) of an .rpm file."""
    with open(path, "rb") as f:
        raw = f.read()
    out = []
    at = 96  # the lead
    for pad in (True, False):
        assert raw[at:at + 3] == b"\x8e\xad\xe8", path
        il, dl = struct.unpack(">II", raw[at + 8: at + 16])
        size = 16 * il + dl
        out.append(raw[at + 8: at + 16 + size])
        at += 16 + size
        if pad:
            at += (8 - size % 8) % 8
    return out


SIG_TAGS = {267, 268, 1002, 1005}  # DSAHEADER, RSAHEADER, SIGPGP, SIGGPG


def signatures(blob):
    index, data = header_entries(blob)
    for tag, typ, off, count in index:
        if tag in SIG_TAGS and typ == 7 and 0 <= off and off + count <= len(data):
            yield tag, data[off: off + count]


def sqlite_blobs(path, limit):
    con = sqlite3.connect("file:" + path + "?immutable=1", uri=True)
    try:
        return [bytes(r[0]) for r in con.execute("SELECT blob FROM Packages ORDER BY hnum LIMIT ?", (limit,))]
    finally:
        con.close()


def small_sqlite(blobs, wal):
    """An rpm-schema SQLite database holding `blobs`; with `wal`, the rows sit in the -wal file."""
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "rpmdb.sqlite")
        con = sqlite3.connect(db)
        con.execute("PRAGMA page_size=1024")
        con.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
        con.commit()
        if wal:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA wal_autocheckpoint=0")
        for b in blobs:
            con.execute("INSERT INTO Packages (blob) VALUES (?)", (b,))
        con.commit()
        with open(db, "rb") as f:
            main = f.read()
        tail = b""
        if wal:
            with open(db + "-wal", "rb") as f:
                tail = b"\0--wal--\0" + f.read()
        con.close()
        return main + tail


def vex_excerpt(path):
    """A VEX document without its aarch64, ppc64le and s390x builds and debug packages."""
    import json

    with open(path, "rb") as f:
        doc = json.load(f)

    def keep(pid):
        return not any(a in pid for a in (".aarch64", ".ppc64le", ".s390x", "debuginfo", "debugsource"))

    def trim(branches):
        out = []
        for b in branches:
            p = b.get("product")
            if p and b.get("category") == "product_version" and not keep(p["product_id"]):
                continue
            if "branches" in b:
                b = dict(b, branches=trim(b["branches"]))
                if not b["branches"] and not p:
                    continue
            out.append(b)
        return out

    tree = doc["product_tree"]
    tree["branches"] = trim(tree["branches"])
    tree["relationships"] = [r for r in tree["relationships"] if keep(r["product_reference"])]
    for v in doc["vulnerabilities"]:
        for k, ids in v["product_status"].items():
            v["product_status"][k] = [i for i in ids if keep(i)]
        for item, key in [(r, "product_ids") for r in v.get("remediations", [])] + [
            (t, "product_ids") for t in v.get("threats", [])
        ] + [(s, "products") for s in v.get("scores", [])] + [(f, "product_ids") for f in v.get("flags", [])]:
            if key in item:
                item[key] = [i for i in item[key] if keep(i)]
    return json.dumps(doc, indent=2).encode()


def main():
    if os.path.isdir(CORPUS):
        # Keep what earlier runs found; the seeds are added again.
        pass
    # Berkeley DB and NDB databases, whole.
    for p in ["custom-epoch-bdb", "libuuid", "rhel8-tzdata-bdb"]:
        put_file("db_bdb", fixture("rpmdb", p, "Packages"))
    put_file("db_ndb", fixture("rpmdb", "sle15sp3-glibc-3pkg-ndb", "Packages.db"))
    # SQLite: the small real database whole, and rpm-schema databases with and without -wal.
    put_file("db_sqlite", fixture("rpmdb", "fedora36-tzdata-sqlite", "rpmdb.sqlite"))
    amazon = sqlite_blobs(fixture("rpmdb", "amazonlinux2023-plain-sqlite", "rpmdb.sqlite"), 4)
    mariner = sqlite_blobs(fixture("rpmdb", "cbl-mariner-2.0", "rpmdb.sqlite"), 4)
    put("db_sqlite", "amazon-3-headers.sqlite", small_sqlite(amazon[:3], wal=False))
    put("db_sqlite", "amazon-3-headers-wal.sqlite", small_sqlite(amazon[:3], wal=True))
    # Headers: installed ones (with region and install-time entries), the broken blob.bin,
    # and the signature and main headers of real .rpm files.
    headers = []
    for i, b in enumerate(amazon + mariner):
        headers.append(("installed-%d" % i, b))
    with open(fixture("rpmdb", "blob", "blob.bin"), "rb") as f:
        headers.append(("blob.bin", f.read()))
    rpms = fixture("rpms")
    for d in sorted(os.listdir(rpms)):
        for name in sorted(os.listdir(os.path.join(rpms, d))):
            if name.endswith(".rpm"):
                sig, hdr = rpm_headers(os.path.join(rpms, d, name))
                headers.append((d + "-sig", sig))
                headers.append((d + "-hdr", hdr))
    sig_seen = set()
    for name, blob in headers:
        if len(blob) <= MAX_SEED:
            put("header", name, blob)
        for tag, packet in signatures(blob):
            if packet not in sig_seen:
                sig_seen.add(packet)
                put("signature", "%s-tag%d" % (name, tag), packet)
    # Repository metadata.
    repo = fixture("repodata")
    for d in sorted(os.listdir(repo)):
        for root, _, files in os.walk(os.path.join(repo, d)):
            for f in files:
                p = os.path.join(root, f)
                if f == "repomd.xml":
                    put_file("repomd", p, d + "-repomd.xml")
                elif "updateinfo" in f:
                    put_file("updateinfo", p, d + "-" + f)
                elif "modules.yaml" in f:
                    put_file("modules", p, d + "-" + f)
                    with lzma.open(p) as x:
                        put("modules", d + "-modules.yaml", x.read())
    with gzip.open(fixture("repodata", "opensuse-11.0-primary", "repodata", "primary.xml.gz")) as g:
        primary = g.read()
    cut = 0
    for _ in range(12):
        cut = primary.index(b"</package>", cut) + len(b"</package>")
    excerpt = primary[:cut] + b"\n</metadata>\n"
    put("primary", "opensuse-12-packages.xml", excerpt)
    put("primary", "opensuse-12-packages.xml.gz", gzip.compress(excerpt))
    put("primary", "opensuse-12-packages.xml.xz", lzma.compress(excerpt))
    put("primary", "opensuse-12-packages.xml.bz2", bz2.compress(excerpt))
    if shutil.which("zstd"):
        zst = subprocess.run(["zstd", "-q", "-c"], input=excerpt, stdout=subprocess.PIPE, check=True).stdout
        put("primary", "opensuse-12-packages.xml.zst", zst)
    with gzip.open(fixture("repodata", "centos-stream9-appstream", "repodata",
                           "c03bb2ebc33bbee3046da091b45d90717273a43d3641a9d84e6eede05637bc8a-primary.xml.gz")) as g:
        head = g.read(400_000)
    cut = 0
    for _ in range(8):
        cut = head.index(b"</package>", cut) + len(b"</package>")
    put("primary", "centos-stream9-8-packages.xml", head[:cut] + b"\n</metadata>\n")
    for d in sorted(os.listdir(fixture("advisories"))):
        for f in os.listdir(fixture("advisories", d)):
            if f.endswith(".xml"):
                put_file("oval", fixture("advisories", d, f), d + ".xml")
    for f in sorted(os.listdir(fixture("vex"))):
        if f.startswith("cve-") and f.endswith(".json"):
            put_file("csaf_vex", fixture("vex", f), f)
            put_file("author_vex", fixture("vex", f), f)
    # cve-2023-2454 (1.6 MB, over MAX_SEED and -max_len) as an excerpt: its x86_64, noarch
    # and src builds without debuginfo, every id list cut to match (module builds, the
    # postgresql:15/postgresql component and all statuses kept).
    excerpt = vex_excerpt(fixture("vex", "cve-2023-2454.json"))
    put("csaf_vex", "cve-2023-2454-x86_64-excerpt.json", excerpt)
    put("author_vex", "cve-2023-2454-x86_64-excerpt.json", excerpt)
    put("author_vex", "openvex-not-affected.json", OPENVEX.encode())
    # Inputs the fixtures do not hold, in the layouts distributions ship.
    put("metalink", "fedora.metalink", METALINK.encode())
    put("repo_config", "centos7-base.repo", CENTOS7_REPO.encode())
    put("repo_config", "rocky9-with-dnf-conf.repo", (DNF_CONF + "\0--conf--\0" + ROCKY9_REPO).encode())
    put("os_release", "ubi8-os-release", UBI8_OS_RELEASE.encode())
    put("os_release", "redhat-release", b"CentOS Linux release 7.9.2009 (Core)\n")
    # Image manifests, lists, configs and the text a registry or a user gives (oci-image).
    for name, text in IMAGE_MANIFESTS.items():
        put("image_manifest", name, text.encode())
    put("image_config", "docker-config.json", IMAGE_CONFIG.encode())
    for i, text in enumerate(IMAGE_TEXT):
        put("image_text", "text-%d" % i, text.encode())
    # Image layers: two small tars (PAX capability, a whiteout, an opaque directory, a hard
    # link into the lower layer, a symlinked parent), joined as the target cuts them.
    lower, upper = image_layers()
    put("image_layers", "two-layers", bytes([1]) + lower + upper[: len(lower)].ljust(len(lower), b"\0"))
    put("image_layers", "one-layer", bytes([0]) + lower)
    # rpmvercmp: triples of consecutive versions from rpm's own test vectors.
    words = []
    with open(fixture("rpmvercmp", "vectors.txt")) as f:
        for line in f:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 3 and not line.startswith("#"):
                words.extend(parts[:2])
    for i in range(0, len(words) - 2, 3):
        put("vercmp", "vectors-%03d" % i, "\0".join(words[i:i + 3]).encode())
    for t in sorted(os.listdir(CORPUS)):
        print("%-12s %4d seeds" % (t, len(os.listdir(os.path.join(CORPUS, t)))))


def image_layers():
    import io
    import tarfile

    def tar(entries):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name, kind, data, extra in entries:
                info = tarfile.TarInfo(name)
                info.mtime = 1700000000
                info.type = kind
                if kind == tarfile.SYMTYPE or kind == tarfile.LNKTYPE:
                    info.linkname = data.decode()
                    t.addfile(info)
                    continue
                info.size = len(data) if kind == tarfile.REGTYPE else 0
                info.pax_headers = extra
                t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        return out.getvalue()

    cap = "\x01\x00\x00\x02\x00\x20\x00\x00" + "\x00" * 12
    lower = tar([
        ("usr", tarfile.DIRTYPE, b"", {}),
        ("usr/lib", tarfile.DIRTYPE, b"", {}),
        ("lib", tarfile.SYMTYPE, b"usr/lib", {}),
        ("usr/lib/libx.so", tarfile.REGTYPE, b"x" * 100, {}),
        ("var/cache/a", tarfile.REGTYPE, b"a", {}),
        ("etc/os-release", tarfile.REGTYPE, b"ID=centos\n", {}),
    ])
    upper = tar([
        ("usr/bin/ping", tarfile.REGTYPE, b"ping", {"SCHILY.xattr.security.capability": cap}),
        ("var/cache/.wh..wh..opq", tarfile.REGTYPE, b"", {}),
        ("etc/.wh.os-release", tarfile.REGTYPE, b"", {}),
        ("lib/liby.so", tarfile.REGTYPE, b"y", {}),
        ("usr/bin/x2", tarfile.LNKTYPE, b"usr/lib/libx.so", {}),
    ])
    return lower, upper


METALINK = """<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Sat, 28 Nov 2026 09:00:00 GMT" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>1700000000</mm0:timestamp>
   <size>4459</size>
   <verification>
    <hash type="md5">0123456789abcdef0123456789abcdef</hash>
    <hash type="sha256">c03bb2ebc33bbee3046da091b45d90717273a43d3641a9d84e6eede05637bc8a</hash>
   </verification>
   <resources maxconnections="1">
    <url protocol="https" type="https" location="US" preference="100">https://mirror.example/fedora/releases/39/Everything/x86_64/os/repodata/repomd.xml</url>
    <url protocol="http" type="http" location="DE" preference="99">http://mirror2.example/fedora/39/x86_64/os/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>
"""

CENTOS7_REPO = """# CentOS-Base.repo
[base]
name=CentOS-$releasever - Base
mirrorlist=http://mirrorlist.centos.org/?release=$releasever&arch=$basearch&repo=os&infra=$infra
#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7

[updates]
name=CentOS-$releasever - Updates
baseurl=http://mirror.centos.org/centos/$releasever/updates/$basearch/
        http://vault.centos.org/centos/$releasever/updates/$basearch/
exclude=kernel* foo-1.2
priority=10
enabled=1

[centosplus]
name=CentOS-$releasever - Plus
baseurl=http://mirror.centos.org/centos/$releasever/centosplus/$basearch/
enabled=0
"""

DNF_CONF = """[main]
gpgcheck=1
installonly_limit=3
clean_requirements_on_remove=True
best=True
skip_if_unavailable=False
reposdir=/etc/yum.repos.d
excludepkgs=kernel*
"""

ROCKY9_REPO = """[baseos]
name=Rocky Linux $releasever - BaseOS
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever$rltype
#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/BaseOS/$basearch/os/
gpgcheck=1
enabled=1
countme=1
metadata_expire=6h
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9

[appstream]
name=Rocky Linux $releasever - AppStream
metalink=https://mirrors.rockylinux.org/metalink?arch=$basearch&repo=AppStream-$releasever_major
enabled=1
module_hotfixes=true
includepkgs=nginx* httpd
"""

UBI8_OS_RELEASE = """NAME="Red Hat Enterprise Linux"
VERSION="8.9 (Ootpa)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="8.9"
PLATFORM_ID="platform:el8"
PRETTY_NAME="Red Hat Enterprise Linux 8.9 (Ootpa)"
ANSI_COLOR="0;31"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:redhat:enterprise_linux:8::baseos"
HOME_URL="https://www.redhat.com/"
"""

IMAGE_MANIFESTS = {
    "oci-manifest.json": '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":32}]}',
    "docker-list.json": '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":528,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":528,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","platform":{"architecture":"amd64","os":"linux"}}]}',
    "schema1.json": '{"schemaVersion":1,"name":"library/x","tag":"latest","architecture":"amd64","fsLayers":[],"history":[]}',
}

IMAGE_CONFIG = '{"architecture":"amd64","os":"linux","config":{"Labels":{"maintainer":"x"},"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},"history":[{"created_by":"COPY . /"},{"created_by":"LABEL maintainer=x","empty_layer":true}]}'

IMAGE_TEXT = [
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
    "docker://quay.io/centos/centos:stream9",
    "containers-storage:[overlay@/var/lib/containers/storage+/run/containers/storage]localhost/a:b",
    "registry.access.redhat.com/ubi9/ubi@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "linux/arm64/v8",
]

if __name__ == "__main__":
    sys.exit(main())
