#!/usr/bin/env python3
"""Rewrites a jar in place, dropping native libraries the GPU bundle does not need.

  slim_jar.py JAR KEEP_PREFIX [--only-under DIR]

Without --only-under, keeps META-INF/ and entries starting with KEEP_PREFIX (JCuda natives: only
libJCudaDriver). With --only-under DIR, drops entries under DIR unless they start with KEEP_PREFIX
and keeps everything else (DJL tokenizers: classes, and only the linux-x86_64 native).
"""
import argparse
import os
import zipfile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("jar")
    p.add_argument("keep")
    p.add_argument("--only-under")
    a = p.parse_args()
    tmp = a.jar + ".tmp"
    with zipfile.ZipFile(a.jar) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            name = item.filename
            wanted = name.startswith(a.keep) or (name.endswith("/") and a.keep.startswith(name))
            if a.only_under:
                rest = name[len(a.only_under):]
                # outside DIR, and metadata files directly in it (tokenizers.properties), stay
                keep = not name.startswith(a.only_under) or "/" not in rest or wanted
            else:
                keep = name.startswith("META-INF/") or wanted
            if keep:
                dst.writestr(item, src.read(name))
    before, after = os.path.getsize(a.jar), os.path.getsize(tmp)
    os.replace(tmp, a.jar)
    print(f"slimmed {os.path.basename(a.jar)}: {before / 2**20:.1f} -> {after / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
