"""Writing the page: ``template.html`` (package data) filled with the content as JSON, into a new folder that
replaces ``OUT`` only when everything is written (a failed build leaves ``OUT`` as it was)."""
import html
import json
import os
import shutil
import tempfile

from mtsr_plugins.report.images import Assets
from mtsr_plugins.report.records import ReportError

MARKER = '.mtsr-report'  # in every folder mtsr-report wrote: such a folder may be replaced without --overwrite


def check_output(out, overwrite):
    """ReportError when ``out`` is a file, or a non-empty folder that no mtsr-report wrote (without --overwrite)."""
    if os.path.lexists(out) and not os.path.isdir(out):
        raise ReportError(f"-o '{out}' is a file, not a folder")
    if os.path.isdir(out) and os.listdir(out) and not os.path.isfile(os.path.join(out, MARKER)) and not overwrite:
        raise ReportError(f"-o '{out}' is a folder with other content (not an mtsr-report page); choose another "
                          'folder or pass --overwrite to replace it')
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise ReportError(f"-o '{out}': its parent folder '{parent}' does not exist")


def render(data):
    """The page's HTML: the template with the title and the JSON content (``</`` escaped) filled in."""
    with open(os.path.join(os.path.dirname(__file__), 'template.html'), encoding='utf-8') as handle:
        template = handle.read()
    blob = json.dumps(data, ensure_ascii=False, allow_nan=False).replace('</', '<\\/')
    return template.replace('__TITLE__', html.escape(data['title'])).replace('__REPORT_DATA__', blob)


class Staging:
    """A temporary folder beside ``out`` to build the page in; ``commit(data)`` writes index.html and puts the
    folder in the place of ``out``; on an exception the temporary folder is removed."""

    def __init__(self, out):
        self.out = os.path.abspath(out)
        self.tmp = tempfile.mkdtemp(prefix='.mtsr-report-', dir=os.path.dirname(self.out))
        self.assets = Assets(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def commit(self, data):
        with open(os.path.join(self.tmp, 'index.html'), 'w', encoding='utf-8') as handle:
            handle.write(render(data))
        with open(os.path.join(self.tmp, MARKER), 'w', encoding='utf-8') as handle:
            handle.write('written by mtsr-report; this folder is replaced as a whole when the report is rebuilt\n')
        os.chmod(self.tmp, 0o755)
        old = None
        if os.path.isdir(self.out):
            old = tempfile.mkdtemp(prefix='.mtsr-report-old-', dir=os.path.dirname(self.out))
            os.rename(self.out, os.path.join(old, 'previous'))
        os.rename(self.tmp, self.out)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return os.path.join(self.out, 'index.html')
