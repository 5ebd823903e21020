#!/usr/bin/env python3
"""Write the spec of the benchmark root: one rpmbuild run, N subpackages of F files each.

    bench/rpmdb-root.py N F > bench.spec

Each subpackage `bench-pkgNNNN` looks like an ordinary library package: a directory, F-3
regular files of 200 bytes to 8 KiB (under /usr/lib64, /usr/share, /etc as %config), a
symlink, a %doc file and a %license file, a changelog, provides and requires, so its header
has the size and shape of a real one (a few KiB).
"""
import datetime
import sys

n, nfiles = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
out.write("""%global __os_install_post %{nil}
%define _build_id_links none
%define debug_package %{nil}
Name: bench
Version: 1.0
Release: 1
Summary: Benchmark root for rpmdb-query
License: MIT
BuildArch: noarch
AutoReqProv: no
%description
Benchmark root.
""")
for i in range(n):
    out.write(f"""%package -n bench-pkg{i:04d}
Summary: Benchmark package {i}, a library of no consequence
Version: {1 + i % 7}.{i % 13}.{i % 5}
Release: {1 + i % 3}.el9
Epoch: {i % 3}
Vendor: Benchmark Vendor
Packager: Benchmark Packager <bench@example.org>
URL: https://example.org/bench/{i}
Provides: libbench{i}.so.1()(64bit)
Provides: bench-capability-{i} = {i}
Requires: libc.so.6()(64bit)
Requires: bench-pkg{(i + 1) % n:04d}
%description -n bench-pkg{i:04d}
Benchmark package {i}: a description of a few lines, as real packages carry,
so that the header is not unrealistically small. It provides nothing useful.
""")
out.write("%install\n")
out.write(f"""for i in $(seq 0 {n - 1}); do
  p=$(printf 'bench-pkg%04d' "$i")
  d=%{{buildroot}}/usr/lib64/$p
  mkdir -p "$d" %{{buildroot}}/usr/share/$p %{{buildroot}}/etc/$p %{{buildroot}}/usr/share/doc/$p %{{buildroot}}/usr/share/licenses/$p
  for j in $(seq 1 {nfiles - 5}); do
    head -c $(( 200 + (i * 131 + j * 977) % 8000 )) /dev/urandom > "$d/lib$j.so.1"
  done
  head -c 900 /dev/urandom > %{{buildroot}}/usr/share/$p/data
  echo "setting=$i" > %{{buildroot}}/etc/$p/$p.conf
  ln -s lib1.so.1 "$d/lib1.so"
  echo "read me $i" > %{{buildroot}}/usr/share/doc/$p/README
  echo "MIT $i" > %{{buildroot}}/usr/share/licenses/$p/LICENSE
done
""")
for i in range(n):
    p = f"bench-pkg{i:04d}"
    out.write(f"""%files -n {p}
%dir /usr/lib64/{p}
/usr/lib64/{p}/*
/usr/share/{p}
%config(noreplace) /etc/{p}/{p}.conf
%doc /usr/share/doc/{p}/README
%license /usr/share/licenses/{p}/LICENSE
""")
out.write("%changelog\n")
for k in range(12, 0, -1):
    day = datetime.date(2024, 1, 1) + datetime.timedelta(days=7 * k)
    out.write(f"* {day.strftime('%a %b %d %Y')} Benchmark Packager <bench@example.org> - 1.0-{k}\n")
    out.write(f"- Change number {k}: rebuilt for nothing in particular\n\n")
