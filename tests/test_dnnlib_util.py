"""dnnlib.util: EasyDict, names, formatting, Logger, and open_url against a real local HTTP server."""

import http.server
import io
import os
import pickle
import sys
import threading

import pytest

import dnnlib
from dnnlib import util


DRIVE_FORM = b'''<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="/usercontent/download" method="get">
<input type="submit" id="uc-download-link" value="Download anyway"/>
<input type="hidden" name="id" value="1MEG"><input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="a&amp;b"></form></body></html>'''

NET_BYTES = pickle.dumps({'hello': 'network'}, protocol=4)  # open_url checks that downloads are pickles or GraphDefs


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves /data (after `fail_first` failures) and /empty; counts requests per path."""
    counts = {}
    fail_first = {}

    def do_GET(self):  # noqa: N802
        _Handler.counts[self.path] = _Handler.counts.get(self.path, 0) + 1
        if _Handler.fail_first.get(self.path, 0) > 0:
            _Handler.fail_first[self.path] -= 1
            self.send_response(503)
            self.end_headers()
            return
        if self.path in ('/drive', '/quota'):  # Google Drive's virus-scan confirmation page, or its quota page
            body = (DRIVE_FORM if self.path == '/drive' else b'<html><body>Quota exceeded</body></html>')
            self.send_response(200)
            self.send_header('Content-Type', 'text/html; charset=utf-8')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == '/usercontent/download?id=1MEG&export=download&confirm=t&uuid=a%26b':
            self.path = '/data'
        if self.path.startswith('/data'):
            body = NET_BYTES
            self.send_response(200)
            self.send_header('Content-Disposition', 'attachment; filename="net.pkl"')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.counts.clear()
    _Handler.fail_first.clear()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()


def test_open_url_download_cache_retry_and_error(server, tmp_path):
    cache = str(tmp_path / 'cache')
    with util.open_url(server + '/data', cache_dir=cache, verbose=False) as f:
        assert f.read() == NET_BYTES
    assert _Handler.counts['/data'] == 1
    files = os.listdir(cache)
    assert len(files) == 1 and files[0].endswith('_net.pkl')
    with util.open_url(server + '/data', cache_dir=cache, verbose=False) as f:
        assert f.read() == NET_BYTES
    assert _Handler.counts['/data'] == 1  # cache hit: no second request

    _Handler.fail_first['/data2'] = 2
    with util.open_url(server + '/data2', num_attempts=3, verbose=False, retry_delay=0) as f:
        assert f.read() == NET_BYTES
    assert _Handler.counts['/data2'] == 3

    with pytest.raises(IOError, match='after 2 attempts'):
        util.open_url(server + '/missing', num_attempts=2, verbose=False, retry_delay=0)
    assert _Handler.counts['/missing'] == 2
    with pytest.raises(ValueError, match='Not a URL'):
        util.open_url('/some/local/path')


def test_easydict_and_names():
    d = dnnlib.EasyDict(a=1)
    d.b = 2
    assert d == {'a': 1, 'b': 2} and d.a == 1
    del d.a
    with pytest.raises(AttributeError):
        _ = d.a
    assert pickle.loads(pickle.dumps(d)) == d
    assert util.get_obj_by_name('os.path.join') is os.path.join
    assert util.get_obj_by_name('np.float32').__name__ == 'float32'
    assert util.call_func_by_name(1, 2, func_name='builtins.max') == 2
    with pytest.raises(ImportError, match='no_such_module'):
        util.get_obj_by_name('no_such_module.func')
    assert util.is_top_level_function(util.format_time) and not util.is_top_level_function(lambda: 0)
    assert util.get_top_level_function_name(util.format_time) == 'dnnlib.util.format_time'
    assert util.is_url('https://example.com/a.pkl') and not util.is_url('results/a.pkl') and not util.is_url(3)


def test_format_time():
    assert util.format_time(42) == '42s'
    assert util.format_time(185) == '3m 05s'
    assert util.format_time(2 * 3600 + 3 * 60 + 5) == '2h 03m 05s'
    assert util.format_time(4 * 86400 + 2 * 3600 + 3 * 60) == '4d 02h 03m'


def test_logger_tees_stdout(tmp_path, capsys):
    path = tmp_path / 'log.txt'
    with util.Logger(str(path), should_flush=True):
        print('to both')
        sys.stderr.write('err line\n')
    assert 'to both' in path.read_text() and 'err line' in path.read_text()
    assert 'to both' in capsys.readouterr().out


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / 'x.bin'
    target.write_bytes(b'old')

    def failing(f):
        f.write(b'partial')
        raise OSError('disk full')
    with pytest.raises(OSError):
        util.atomic_write(str(target), failing)
    assert target.read_bytes() == b'old' and os.listdir(tmp_path) == ['x.bin']
    util.atomic_write(str(target), lambda f: f.write(b'new'))
    assert target.read_bytes() == b'new'


def test_open_url_follows_the_drive_confirmation_form_and_refuses_other_pages(server, tmp_path):
    cache = str(tmp_path / 'cache')
    with util.open_url(server + '/drive', cache_dir=cache, verbose=False, retry_delay=0) as f:
        assert f.read() == NET_BYTES
    assert _Handler.counts['/drive'] == 1 and os.listdir(cache)[0].endswith('_net.pkl')

    with pytest.raises(IOError, match=r'/quota after 1 attempt: received an HTML page instead of the file'):
        util.open_url(server + '/quota', cache_dir=str(tmp_path / 'cache2'), num_attempts=5, verbose=False, retry_delay=0)
    assert _Handler.counts['/quota'] == 1  # no pointless retries
    assert not os.path.exists(tmp_path / 'cache2') or not os.listdir(tmp_path / 'cache2')  # the page is not cached
