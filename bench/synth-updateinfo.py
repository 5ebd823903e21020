#!/usr/bin/env python3
"""A synthetic updateinfo.xml in the shape of RHEL 8's, for the benchmarks.

    synth-updateinfo.py OUT ADVISORIES INSTALLED

RHSA/RHBA/RHEA ids, 45% security (5% Critical, 35% Important, 40% Moderate, 20% Low), titles,
~1.5 kB descriptions, 1-5 CVE and 1-4 bugzilla references plus a self reference, issued and
updated dates over four years, collections of 1-12 packages over x86_64, i686, noarch and src,
a tenth of them module collections, naming the INSTALLED packages pkg0000... (at older, equal
and newer versions) and 2,600 others. Seeded: the same arguments give the same file."""
import random, sys
path, n, installed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20240101)
names = [f"pkg{i:04d}" for i in range(installed)] + [f"other{i:04d}" for i in range(2600)]
def noarch(name):
    return name.startswith("pkg") and int(name[3:]) % 4 == 3
words = ("the kernel memory buffer overflow flaw could allow a remote attacker to crash the "
         "service or execute arbitrary code with the privileges of the user running it").split()
def text(k):
    return " ".join(rnd.choice(words) for _ in range(k))
sev_cut = [("Critical", 0.05), ("Important", 0.40), ("Moderate", 0.80), ("Low", 1.0)]
out = ['<?xml version="1.0" encoding="UTF-8"?>', "<updates>"]
for i in range(n):
    r = rnd.random()
    kind, prefix = ("security", "RHSA") if r < 0.45 else (("bugfix", "RHBA") if r < 0.85 else ("enhancement", "RHEA"))
    year = 2019 + i % 4
    aid = f"{prefix}-{year}:{1000 + i}"
    s = rnd.random()
    sev = next(name for name, cut in sev_cut if s <= cut) if kind == "security" else None
    month, day = rnd.randint(1, 12), rnd.randint(1, 28)
    out.append(f'  <update from="release-engineering@redhat.com" status="final" type="{kind}" version="2">')
    out.append(f"    <id>{aid}</id>")
    title = f"{sev + ': ' if sev else ''}{rnd.choice(names)} {kind} update"
    out.append(f"    <title>{title}</title>")
    out.append(f'    <issued date="{year}-{month:02d}-{day:02d} 10:{i % 60:02d}:00"/>')
    out.append(f'    <updated date="{year}-{month:02d}-{day:02d} 12:{i % 60:02d}:00"/>')
    out.append("    <rights>Copyright 2024 Red Hat Inc</rights>")
    out.append("    <release>Red Hat Enterprise Linux 8</release>")
    out.append("    <pushcount>1</pushcount>")
    if sev:
        out.append(f"    <severity>{sev}</severity>")
    out.append(f"    <summary>{text(30)}</summary>")
    out.append(f"    <description>{text(230)}</description>")
    out.append("    <solution>Before applying this update, make sure all previously released errata relevant to your system have been applied.</solution>")
    out.append("    <references>")
    out.append(f'      <reference href="https://access.redhat.com/errata/{aid}" id="{aid}" type="self" title="{aid}"/>')
    for _ in range(rnd.randint(1, 4)):
        b = rnd.randint(1000000, 2200000)
        out.append(f'      <reference href="https://bugzilla.redhat.com/show_bug.cgi?id={b}" id="{b}" type="bugzilla" title="{text(8)}"/>')
    if kind == "security":
        for _ in range(rnd.randint(1, 5)):
            c = f"CVE-{year}-{rnd.randint(1000, 49999)}"
            out.append(f'      <reference href="https://access.redhat.com/security/cve/{c}" id="{c}" type="cve" title="{c}"/>')
    out.append("    </references>")
    out.append("    <pkglist>")
    modular = rnd.random() < 0.1
    out.append('      <collection short="">')
    out.append("        <name>rhel-8-for-x86_64-appstream-rpms</name>")
    if modular:
        out.append(f'        <module name="mod{i % 40}" stream="{1 + i % 3}" version="8040020210{i:06d}" context="5b01ab7e" arch="x86_64"/>')
    for name in rnd.sample(names, rnd.randint(1, 12)):
        rel = rnd.choice(["0.5.el8", "1.el8", "2.el8", "1.el8_4.1", "3.el8_4"])
        epoch = "1" if rnd.random() < 0.03 else "0"
        arches = ["noarch", "src"] if noarch(name) else (["x86_64", "i686", "src"] if rnd.random() < 0.3 else ["x86_64", "src"])
        for arch in arches:
            fn = f"{name}-1.0-{rel}.{arch}.rpm"
            out.append(f'        <package name="{name}" version="1.0" release="{rel}" epoch="{epoch}" arch="{arch}" src="{name}-1.0-{rel}.src.rpm">')
            out.append(f"          <filename>{fn}</filename>")
            out.append(f'          <sum type="sha256">{rnd.getrandbits(256):064x}</sum>')
            out.append("        </package>")
    out.append("      </collection>")
    out.append("    </pkglist>")
    out.append("  </update>")
out.append("</updates>")
open(path, "w").write("\n".join(out) + "\n")
