"""dnnlib.util.open_url against a local HTTP server that misbehaves: pages that are not the file are never
cached (also when sent as application/octet-stream), poisoned cache entries are removed and fetched again,
and stalled or trickling servers fail within the limits with messages naming the URL and the cache file."""

import gzip
import hashlib
import http.server
import os
import pickle
import threading
import time

import pytest
import tensorflow.compat.v1 as tf

from dnnlib import util

NET_BYTES = pickle.dumps({'G': [1.0, 2.0]}, protocol=4)
HTML_PAGE = b'<!DOCTYPE html><html><body>Service unavailable, try again later</body></html>'


def _graph_def_bytes():
    with tf.Graph().as_default() as graph:
        tf.constant([1.0, 2.0], name='pool_3')
        return graph.as_graph_def().SerializeToString()


class _Handler(http.server.BaseHTTPRequestHandler):
    counts = {}
    bad_answers = {}       # path -> number of HTML-as-octet-stream answers before the real file
    release = threading.Event()
    graph_def = b''

    def _send(self, body, content_type='application/octet-stream', length=None):
        self.send_response(200)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Disposition', 'attachment; filename="net.pkl"')
        self.send_header('Content-Length', str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):  # noqa: N802
        path = self.path
        _Handler.counts[path] = _Handler.counts.get(path, 0) + 1
        if path == '/good':
            self._send(NET_BYTES)
        elif path == '/graphdef':
            self._send(_Handler.graph_def)
        elif path == '/magic':
            self._send(b'MAGIC and then some data')
        elif path == '/html-octet':
            self._send(HTML_PAGE)
        elif path == '/text':
            self._send(b'Internal error, please retry.\n', content_type='text/plain')
        elif path == '/flaky':
            bad = _Handler.bad_answers.get(path, 0) > 0
            _Handler.bad_answers[path] = _Handler.bad_answers.get(path, 0) - 1
            self._send(HTML_PAGE if bad else NET_BYTES)
        elif path == '/gzip-bomb':  # 8 MB of zeros in about 8 KB
            body = gzip.compress(b'\0' * (8 << 20))
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Content-Encoding', 'gzip')
            self.send_header('Content-Disposition', 'attachment; filename="net.pkl"')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == '/stall-headers':
            _Handler.release.wait(20)
        elif path == '/stall-body':
            self._send(NET_BYTES[:10], length=len(NET_BYTES))
            _Handler.release.wait(20)
        elif path == '/trickle':
            self.send_response(200)
            self.send_header('Content-Length', '100000')
            self.end_headers()
            for _ in range(400):
                if _Handler.release.wait(0.05):
                    break
                self.wfile.write(b'x')
                self.wfile.flush()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that give up on purpose (stall tests) break the connection


@pytest.fixture
def server():
    _Handler.counts.clear()
    _Handler.bad_answers.clear()
    _Handler.release.clear()
    _Handler.graph_def = _graph_def_bytes()
    httpd = _Server(('127.0.0.1', 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    _Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


def _cache_file(cache, url):
    return os.path.join(cache, hashlib.md5(url.encode('utf-8')).hexdigest() + '_net.pkl')


def _open(url, cache, **kwargs):
    with util.open_url(url, cache_dir=cache, verbose=False, retry_delay=0, **kwargs) as f:
        return f.read()


@pytest.mark.parametrize('path', ['/html-octet', '/text'])
def test_a_page_that_is_not_the_file_is_not_cached(server, tmp_path, path):
    cache = str(tmp_path / 'cache')
    url = server + path
    with pytest.raises(IOError) as info:
        _open(url, cache)
    message = str(info.value)
    assert url in message and 'not a pickle or a frozen GraphDef' in message
    assert '(cache file: %s, not written)' % _cache_file(cache, url) in message  # names the cache file (not a pattern)
    assert _Handler.counts[path] == 1  # a wrong answer is not retried 10 times
    assert not os.path.exists(cache) or os.listdir(cache) == []


def test_the_file_is_fetched_once_the_server_is_fixed(server, tmp_path):
    cache = str(tmp_path / 'cache')
    _Handler.bad_answers['/flaky'] = 1
    with pytest.raises(IOError, match='not a pickle'):
        _open(server + '/flaky', cache)
    assert _open(server + '/flaky', cache) == NET_BYTES
    assert _Handler.counts['/flaky'] == 2
    assert _open(server + '/flaky', cache) == NET_BYTES  # now from the cache
    assert _Handler.counts['/flaky'] == 2


@pytest.mark.parametrize('poison', [HTML_PAGE, NET_BYTES[:-1], b''], ids=['html', 'truncated', 'empty'])
def test_a_poisoned_cache_entry_is_removed_and_fetched_again(server, tmp_path, poison):
    cache = str(tmp_path / 'cache')
    url = server + '/good'
    os.makedirs(cache)
    with open(_cache_file(cache, url), 'wb') as f:
        f.write(poison)
    assert _open(url, cache) == NET_BYTES
    assert _Handler.counts['/good'] == 1
    with open(_cache_file(cache, url), 'rb') as f:
        assert f.read() == NET_BYTES
    assert _open(url, cache) == NET_BYTES and _Handler.counts['/good'] == 1  # a valid entry is used


def test_graph_defs_and_the_callers_own_check(server, tmp_path):
    cache = str(tmp_path / 'cache')
    assert _open(server + '/graphdef', cache) == _Handler.graph_def
    with pytest.raises(IOError, match='not a pickle or a frozen GraphDef'):
        _open(server + '/magic', cache)
    magic = lambda data: data.startswith(b'MAGIC')  # noqa: E731
    assert _open(server + '/magic', cache, validate=magic).startswith(b'MAGIC')

    def refuse(data):
        raise ValueError('wrong file format')
    with pytest.raises(IOError, match='wrong file format'):
        _open(server + '/good', str(tmp_path / 'cache2'), validate=refuse)
    # A cached file the caller's check refuses is downloaded again.
    with open(_cache_file(cache, server + '/magic'), 'wb') as f:
        f.write(b'not magic')
    count = _Handler.counts['/magic']
    assert _open(server + '/magic', cache, validate=magic).startswith(b'MAGIC')
    assert _Handler.counts['/magic'] == count + 1


@pytest.mark.parametrize('path', ['/stall-headers', '/stall-body'])
def test_a_stalled_server_fails_after_the_stall_timeout(server, tmp_path, path):
    cache = str(tmp_path / 'cache')
    start = time.monotonic()
    with pytest.raises(IOError) as info:
        _open(server + path, cache, stall_timeout=0.5)
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert server + path in message and 'stalled' in message
    name = 'net.pkl' if path == '/stall-body' else ('http___127.0.0.1_%s%s' % (server.rsplit(':', 1)[1], path)).replace('/', '_')
    expected = os.path.join(cache, hashlib.md5((server + path).encode('utf-8')).hexdigest() + '_' + name)
    assert '(cache file: %s, not written)' % expected in message  # the real file name, not a pattern
    assert _Handler.counts[path] == 1
    assert not os.path.exists(cache) or os.listdir(cache) == []


def test_a_trickling_server_fails_at_the_total_time_limit(server, tmp_path):
    start = time.monotonic()
    with pytest.raises(IOError, match='did not finish within the time limit'):
        _open(server + '/trickle', str(tmp_path / 'cache'), timeout=1.0, stall_timeout=0.5)
    assert time.monotonic() - start < 4


def test_downloads_are_limited_in_size_while_they_stream(server, tmp_path):
    """max_bytes bounds the decoded content: a small gzip response cannot fill the memory; the error names the
    URL and the cache file that was not written."""
    cache = str(tmp_path / 'cache')
    with pytest.raises(IOError) as info:
        _open(server + '/gzip-bomb', cache, max_bytes=1 << 20)
    message = str(info.value)
    assert 'larger than the limit of 1048576 bytes' in message and server + '/gzip-bomb' in message
    assert '(cache file: %s, not written)' % _cache_file(cache, server + '/gzip-bomb') in message
    assert _Handler.counts['/gzip-bomb'] == 1 and (not os.path.exists(cache) or os.listdir(cache) == [])
    assert _open(server + '/good', cache, max_bytes=len(NET_BYTES)) == NET_BYTES  # the limit itself is allowed
    with pytest.raises(IOError, match='announces %d bytes, more than the limit of %d' % (len(NET_BYTES), len(NET_BYTES) - 1)):
        _open(server + '/good', str(tmp_path / 'other'), max_bytes=len(NET_BYTES) - 1)
    with pytest.raises(IOError, match='cache file %s of .* is larger than the limit of 10 bytes' % _cache_file(cache, server + '/good')):
        _open(server + '/good', cache, max_bytes=10)  # also a cached file
    assert util.DEFAULT_MAX_DOWNLOAD_BYTES == 2 << 30
