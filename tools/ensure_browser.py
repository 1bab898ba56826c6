#!/usr/bin/env python3
"""Make sure Debian's Chromium is installed at /usr/bin/chromium for the browser test (tests/test_browser.py).

    python3 tools/ensure_browser.py            # install it if missing (as root, with apt-get)
    python3 tools/ensure_browser.py --check    # only say whether it is there (exit 1 if not)
    python3 tools/ensure_browser.py --fonts    # also install emoji and CJK fonts, so screenshots show ✅ and 中文

Returns at once when /usr/bin/chromium exists. Otherwise, as root on a system with apt-get, it runs
``apt-get update`` and ``apt-get install -y chromium`` non-interactively; anywhere else it exits with status 1 and
says how to install it. The test drives this Chromium through the Python ``playwright`` package; it never runs
``playwright install`` (which downloads a browser build from outside the package registries).
Standard library only, so it runs before the course's environment exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ["chromium"]
FONT_PACKAGES = ["fonts-noto-color-emoji", "fonts-noto-cjk"]
HOW_TO = (
    "Install it yourself, then run the tests again:\n"
    "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y chromium\n"
    "                  (or: sudo python3 tools/ensure_browser.py)\n"
    "  elsewhere:      the browser test needs a Chromium at /usr/bin/chromium; without it the test is skipped on\n"
    "                  your machine (it fails only in CI, where CI=true).\n"
    "Do not run `playwright install`: the course uses the system's Chromium."
)


def say(message: str) -> None:
    print(f"[ensure_browser] {message}", flush=True)


def apt(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_MODE": "a"}
    return subprocess.run(
        ["apt-get", "-q", "-y", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
         *args],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1800,
    )


def tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def installable_here() -> str | None:
    """None when we may install with apt-get, else the reason we may not."""
    if shutil.which("apt-get") is None:
        return "this system has no apt-get (not Debian/Ubuntu)"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "installing needs root and this runs as a normal user"
    return None


def install(packages: list[str]) -> int:
    say(f"installing {' '.join(packages)} with apt-get (non-interactive; a minute or two)")
    update = apt(["update"])
    if update.returncode != 0:
        say(f"`apt-get update` failed (exit {update.returncode}); trying the install with the current lists:\n"
            f"{tail(update.stdout)}")
    result = apt(["install", *packages])
    if result.returncode != 0:
        say(f"`apt-get install -y {' '.join(packages)}` failed (exit {result.returncode}):\n{tail(result.stdout)}")
        return 1
    return 0


def main(argv: list[str]) -> int:
    unknown = [a for a in argv if a not in ("--check", "--fonts")]
    if unknown or "-h" in argv or "--help" in argv:
        print(__doc__)
        return 0 if not unknown else 2
    wanted = PACKAGES if "--fonts" not in argv else PACKAGES + FONT_PACKAGES
    if CHROMIUM.exists() and "--fonts" not in argv:
        return 0
    if "--check" in argv:
        say(f"{CHROMIUM} is missing.\n{HOW_TO}")
        return 1
    why_not = installable_here()
    if why_not:
        if CHROMIUM.exists():
            say(f"cannot install the fonts: {why_not}")
            return 0
        say(f"{CHROMIUM} is missing and cannot be installed automatically: {why_not}.\n{HOW_TO}")
        return 1
    if install(wanted) != 0 or not CHROMIUM.exists():
        say(f"{CHROMIUM} is still missing after apt-get.\n{HOW_TO}")
        return 1
    version = subprocess.run([str(CHROMIUM), "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, timeout=60).stdout.strip()
    say(f"ready: {version or CHROMIUM}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
