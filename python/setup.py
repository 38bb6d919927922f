"""The package's version is libcairn's: CAIRN_VERSION_STRING in include/cairn.h,
the one place it is written. Everything else is in pyproject.toml."""
import os
import re

from setuptools import setup

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "include", "cairn.h")
with open(HEADER, encoding="utf-8") as f:
    VERSION = re.search(r'^#define CAIRN_VERSION_STRING "([^"]+)"$', f.read(), re.M).group(1)

setup(version=VERSION)
