#!/usr/bin/env python3
"""Rewrites a jar in place without the native libraries the GPU bundle does not need.

  slim_jar.py JAR --drop PREFIX... --keep PREFIX...

An entry is dropped when its name starts with a --drop prefix and with no --keep prefix (folders
leading to a kept entry stay). Examples: JCuda's natives keep only libJCudaDriver, DJL tokenizers
and Aparapi only their linux-x86_64 library.
"""
import argparse
import os
import zipfile


def main():
    p = argparse.ArgumentParser()
    p.add_argument("jar")
    p.add_argument("--drop", nargs="+", required=True)
    p.add_argument("--keep", nargs="+", default=[])
    a = p.parse_args()

    def wanted(name):
        if not any(name.startswith(d) for d in a.drop):
            return True
        if any(name.startswith(k) for k in a.keep):
            return True
        return name.endswith("/") and any(k.startswith(name) for k in a.keep)

    tmp = a.jar + ".tmp"
    with zipfile.ZipFile(a.jar) as src, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            if wanted(item.filename):
                dst.writestr(item, src.read(item.filename))
    before, after = os.path.getsize(a.jar), os.path.getsize(tmp)
    os.replace(tmp, a.jar)
    print(f"slimmed {os.path.basename(a.jar)}: {before / 2**20:.1f} -> {after / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
