"""Production publishes only the front-end files named in STATIC_NODE_FILES (not all of
node_modules): every vendor file a template loads must be one of them, or that page would fail
under the hashed manifest."""

import re
from pathlib import Path

from django.conf import settings

VENDOR_REFERENCE = re.compile(r"""\{%\s*static\s+['"](vendor/[^'"]+)['"]""")


def test_every_vendor_file_a_template_loads_is_published():
    templates = [path for path in Path(settings.BASE_DIR).glob("**/templates/**/*.html")
                 if ".venv" not in path.parts and "node_modules" not in path.parts]
    loaded = {name for path in templates for name in VENDOR_REFERENCE.findall(path.read_text())}
    assert loaded, "no template loads a vendor file: has the pattern changed?"
    assert loaded <= set(settings.STATIC_NODE_FILES), sorted(loaded - set(settings.STATIC_NODE_FILES))
    for name in loaded:
        assert Path(settings.STATIC_NODE_FILES[name]).is_file(), f"{name}: run make install"
