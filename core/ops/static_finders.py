"""Static files from node_modules: only the files the pages load, each under its public name.

A whole package folder (ECharts' dist holds 46 MB of builds and source maps, Pico 20 MB of
themes) made `collectstatic` compress every one of them, with Brotli, for many minutes per
deploy, and published files no page uses."""

from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core import checks
from django.core.files.storage import FileSystemStorage


class NodeFilesFinder(BaseFinder):
    """settings.STATIC_NODE_FILES: {public name under STATIC_URL: file in node_modules}."""

    def __init__(self, *args, **kwargs):
        self.files = {name: Path(source) for name, source in settings.STATIC_NODE_FILES.items()}
        super().__init__(*args, **kwargs)

    def check(self, **kwargs):
        return [checks.Warning(f"STATIC_NODE_FILES: {source} is missing (run `make install`)", id="yanxiu.W001")
                for source in self.files.values() if not source.is_file()]

    def find(self, path, find_all=False, **kwargs):
        source = self.files.get(path)
        if source is None or not source.is_file():
            return []  # as Django's own finders answer: staticfiles.finders.find keeps a None

        return [str(source)] if find_all else str(source)

    def list(self, ignore_patterns):
        for name, source in self.files.items():
            storage = FileSystemStorage(location=source.parent)
            storage.prefix = str(PurePosixPath(name).parent)  # type: ignore[attr-defined]
            yield source.name, storage
