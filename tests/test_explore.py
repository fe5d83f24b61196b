"""explore.py, the generator explorer in the browser (training/explorer.py): the generation logic against the
project's own generation code, the command line (loopback only by default, a port in use refused with one
line), and the page itself in headless Chromium driven by Playwright: seed images equal generate.py's PNGs,
style mixing equals generation.style_mix_images, downloads are .npy files that edit_latents.py takes, edits
of projected dlatents equal edit_latents.py apply, bad input shows a clear message on the page. Screenshots
go to test-artifacts/explore/ (git-ignored)."""

import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np
import PIL.Image
import pytest

from training import explorer as ex
from training import generation as gen
from training import latent_editing as le
from training import misc

from tests.helpers.factory import assert_same_images, read_png, save_snapshot, tiny_G
from tests.helpers.runner import ROOT, assert_one_error, python_env, run_script

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync', '--no-first-run']
ARTIFACTS = os.path.join(ROOT, 'test-artifacts', 'explore')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]

# ----------------------------------------------------------------------------
# Parsing and layer groups.


def test_seed_lists_parse_format_and_page():
    assert ex.parse_seeds('0-3,42') == [0, 1, 2, 3, 42]
    assert ex.format_seeds([0, 1, 2, 3, 42, 43, 7]) == '0-3,42-43,7'
    assert ex.page_seeds(ex.parse_seeds('0-11'), 1) == list(range(12, 24))
    assert ex.page_seeds(ex.parse_seeds('12-23'), -1) == list(range(0, 12))
    assert ex.page_seeds(ex.parse_seeds('0-11'), -1) == list(range(0, 12))  # no negative seeds
    assert ex.parse_seed(' 5 ') == 5
    for bad, message in [('abc', "seeds: 'abc' is not a number or a range like 0-7"), ('', 'seeds: enter a value'),
                         ('5-2', 'runs backwards'), ('4294967296', 'too large')]:
        with pytest.raises(ex.ExploreError, match=message):
            ex.parse_seeds(bad)
    with pytest.raises(ex.ExploreError, match="seed: '1-2' is not a single seed"):
        ex.parse_seed('1-2')


def test_layer_groups_follow_the_resolution():
    assert ex.layer_group(18, 'coarse') == [0, 1, 2, 3]          # 4x4-8x8 at 1024x1024
    assert ex.layer_group(18, 'middle') == [4, 5, 6, 7]          # 16x16-32x32
    assert ex.layer_group(18, 'fine') == list(range(8, 18))      # 64x64-1024x1024
    assert ex.layer_group(8, 'middle') == [4, 5, 6, 7]
    with pytest.raises(ex.ExploreError, match=r'this 32x32 network has no fine layers \(64x64 and up\)'):
        ex.layer_group(8, 'fine')
    assert ex.describe_layers([4, 5, 6, 7]) == 'layers 4-7 (16x16-32x32)'
    assert ex.parse_layers('0-3', 8) == [0, 1, 2, 3]
    with pytest.raises(ex.ExploreError, match='layers: layer 8 does not exist; this network has 8 style layers'):
        ex.parse_layers('8-9', 8)

# ----------------------------------------------------------------------------
# The generation logic: the project's own code paths.


@pytest.fixture(scope='module')
def explorer_net():
    """One tiny G_style in a graph and session of its own for the module: the Explorer enters them itself."""
    import tensorflow.compat.v1 as tf
    import dnnlib.tflib as tflib
    graph = tf.Graph()
    with graph.as_default():
        session = tflib.create_session()
        with session.as_default():
            Gs = tiny_G('Gs')
    explorer = ex.Explorer(Gs, network='tiny.pkl', minibatch_size=4, graph=graph, session=session)
    yield explorer
    explorer.close()
    session.close()


@pytest.fixture
def explorer(explorer_net):
    """The module's Explorer; the test body runs in its graph and session (for the expected images)."""
    with explorer_net.graph.as_default(), explorer_net.session.as_default():
        yield explorer_net


@pytest.mark.parametrize('psi, cutoff, noise', [(1.0, None, 'const'), (0.7, None, 'const'), (0.5, 3, 'const'),
                                                (-0.5, 8, 'const'), (0.7, 0, 'const')])
def test_seed_images_equal_gs_run_for_any_truncation(explorer, psi, cutoff, noise):
    """The explorer truncates W in numpy (no new graph per psi), with the same pixels as Gs.run's own truncation."""
    seeds = [0, 1, 5, 42]
    expected = gen.generate_images(explorer.Gs, seeds, psi, cutoff, noise, minibatch_size=4)
    actual = explorer.seed_images(seeds, ex.Settings(psi, cutoff, noise))
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_array_equal(explorer.seed_dlatents(seeds, ex.Settings(psi, cutoff)),
                                  gen.seed_dlatents(explorer.Gs, seeds, psi, cutoff, minibatch_size=4))


def test_psi_changes_build_no_new_graphs(explorer):
    explorer.seed_images([0], ex.Settings(0.7))
    ops = len(explorer.graph.get_operations())
    for psi in (0.1, 0.2, 0.35, 1.5, -1):
        explorer.seed_images([3], ex.Settings(psi, cutoff=int(psi * 10) % 8))
    assert len(explorer.graph.get_operations()) == ops


def test_noise_modes(explorer):
    const = explorer.seed_images([2], ex.Settings(noise='const'))
    random1 = explorer.seed_images([2], ex.Settings(noise='random'))
    random2 = explorer.seed_images([2], ex.Settings(noise='random'))
    off = explorer.seed_images([2], ex.Settings(noise='off'))
    assert not np.array_equal(random1, random2) and not np.array_equal(const, random1)
    synthesis = explorer.Gs.components.synthesis
    quiet = synthesis.clone('quiet_ref')
    import dnnlib.tflib as tflib
    tflib.set_vars({v: np.zeros(v.shape.as_list()) for n, v in quiet.own_vars.items() if n.startswith('noise')})
    expected = quiet.run(explorer.seed_dlatents([2], ex.Settings()), randomize_noise=False, output_transform=gen.UINT8_NHWC)
    np.testing.assert_array_equal(off, expected)
    assert not np.array_equal(off, const)
    np.testing.assert_array_equal(explorer.seed_images([2], ex.Settings(noise='const')), const)  # the network is unchanged


def test_style_mix_equals_generation_style_mix_images(explorer):
    kwargs = dict(truncation_psi=0.7, truncation_cutoff=None, noise_mode='const', minibatch_size=4)
    for layers in ([0, 1, 2, 3], [4, 5, 6, 7], [2]):
        expected = gen.style_mix_images(explorer.Gs, [1, 2], [3, 4, 5], layers, **kwargs)
        actual = explorer.style_mix([1, 2], [3, 4, 5], layers, ex.Settings(0.7))
        for a, e in zip(actual, expected):
            np.testing.assert_array_equal(a, e)
    with pytest.raises(gen.GenerateError, match='style layers: layer 8 does not exist'):
        explorer.style_mix([1], [2], [8], ex.Settings())


@pytest.mark.parametrize('space', ['w', 'z'])
def test_interpolation_equals_generate_py_frames(explorer, space):
    frames = gen.interpolation_images(explorer.Gs, 3, 7, 5, space=space, truncation_psi=0.8, minibatch_size=4)
    images, dlatents, latents = explorer.interpolate(3, 7, np.linspace(0, 1, 5), space, ex.Settings(0.8))
    assert_same_images(images, frames)
    assert dlatents.shape == (5, 8, 16) and (latents is None) == (space == 'w')


def test_class_choice_for_conditional_networks(tmp_path):
    Gs = tiny_G('Gs', label_size=3)
    explorer = ex.Explorer(Gs, workdir=str(tmp_path))
    assert explorer.num_classes == 3
    for class_idx in (0, 2):
        np.testing.assert_array_equal(explorer.seed_images([4, 9], ex.Settings(0.7, class_idx=class_idx)),
                                      gen.generate_images(Gs, [4, 9], 0.7, class_idx=class_idx))
    with pytest.raises(gen.GenerateError, match='the network has 3 classes'):
        explorer.seed_images([1], ex.Settings(class_idx=3))


def test_edits_equal_edit_latents_arithmetic(explorer, tmp_path):
    w = explorer.seed_dlatents([6], ex.Settings())[0]
    rnd = np.random.RandomState(1)
    d1, d2 = rnd.randn(16).astype(np.float32), rnd.randn(8, 16).astype(np.float32)
    np.save(tmp_path / 'd1.npy', d1)
    np.save(tmp_path / 'd2.npy', d2)
    directions = [(explorer.load_direction(str(tmp_path / 'd1.npy')), 2.0), (explorer.load_direction(str(tmp_path / 'd2.npy')), -0.5)]
    image, edited = explorer.edit(w, directions, layers=[0, 1, 2, 3])
    offset = le.combine_directions([d for d, _ in directions], [s for _, s in directions], [0, 1, 2, 3])
    np.testing.assert_array_equal(edited, le.apply_direction(w, offset, 1.0))
    np.testing.assert_array_equal(edited[4:], w[4:])
    expected = np.asarray(misc.convert_to_pil_image(le.render(explorer.Gs, edited[np.newaxis])[0], drange=[-1, 1]))
    np.testing.assert_array_equal(image, expected)
    np.save(tmp_path / 'bad.npy', np.zeros([5], np.float32))
    with pytest.raises(ex.ExploreError, match=r'^bad.npy: a direction must have shape \[16\] or \[8, 16\] for this network, got \[5\]'):
        explorer.load_direction(str(tmp_path / 'bad.npy'))
    np.save(tmp_path / 'w.npy', np.zeros([3, 16], np.float32))
    with pytest.raises(ex.ExploreError, match=r'^w.npy: dlatents have shape \[3, 16\]; this network needs \[8, 16\]'):
        explorer.load_dlatents(str(tmp_path / 'w.npy'))
    (tmp_path / 'notes.npy').write_text('a text file\n')
    with pytest.raises(ex.ExploreError, match=r'^notes.npy: cannot read the direction: not a .npy array file'):
        explorer.load_direction(str(tmp_path / 'notes.npy'))
    # A projection's noise maps that do not fit: one line naming the file, before anything runs.
    own = {name: value for name, value in zip(le.noise_shapes(explorer.Gs), explorer.session.run(
        [var for name, var in explorer.Gs.components.synthesis.own_vars.items() if name.startswith('noise')]))}
    noises = explorer.load_noises(str(_savez(tmp_path / 'good-noise.npz', own)))
    np.testing.assert_array_equal(explorer.edit(w, [], noises=noises)[0], explorer.edit(w, [])[0])  # its own maps
    for name, value, message in [('noise3', np.zeros([1, 1, 4, 4]), r"noise3 has shape \[1, 1, 4, 4\]; this network's noise3 is \[1, 1, 8, 8\]"),
                                 ('noise0', np.full([1, 1, 4, 4], np.nan), 'noise0 must hold finite numbers'),
                                 ('noise9', np.zeros([1, 1, 4, 4]), r"noise maps do not fit this network \(missing \[\], unknown \['noise9'\]\)")]:
        path = _savez(tmp_path / 'bad-noise.npz', dict(own, **{name: value}))
        with pytest.raises(ex.ExploreError, match=r'^bad-noise.npz: ' + message):
            explorer.load_noises(str(path))


def _savez(path, arrays):
    np.savez(str(path), **arrays)
    return path


def test_explorer_works_from_other_threads(explorer):
    """Gradio calls handlers from worker threads, which have no default graph or session."""
    expected = explorer.seed_images([0, 1, 2], ex.Settings(0.6))
    results, errors = [None] * 4, []

    def work(i):
        try:
            results[i] = explorer.seed_images([0, 1, 2], ex.Settings(0.6))
        except Exception as e:  # pylint: disable=broad-except
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_generate_command_reproduces_the_settings(explorer):
    command = explorer.generate_command([5], ex.Settings(0.7, 4, 'random', None))
    assert command == 'python generate.py --network tiny.pkl --seeds 5 --trunc 0.7 --trunc-cutoff 4 --noise-mode random'


def test_progan_generator_gets_seed_images_and_clear_refusals(tmp_path):
    """A generator without mapping network (ProGAN's G_paper): seeds work, W tools say why they do not."""
    import dnnlib.tflib as tflib
    Gs = tflib.Network('Gs', func_name='training.networks_progan.G_paper', num_channels=1, resolution=16, fmap_base=64, fmap_max=16)
    explorer = ex.Explorer(Gs, workdir=str(tmp_path))
    images = explorer.seed_images([1, 2], ex.Settings())
    np.testing.assert_array_equal(images, gen.generate_images(Gs, [1, 2]))
    assert images.shape == (2, 16, 16, 1)
    assert read_png(explorer.save_png(images[0], 'gray.png')).shape == (16, 16)  # a grayscale PNG
    with pytest.raises(ex.ExploreError, match='truncation needs a style-based generator'):
        explorer.seed_images([1], ex.Settings(psi=0.7))
    with pytest.raises(ex.ExploreError, match='style mixing needs a style-based generator'):
        explorer.style_mix([1], [2], [0], ex.Settings())
    ex.build_app(explorer)  # the page builds, with the W tabs off


def test_page_builds_with_class_choice_and_no_analytics(tmp_path):
    explorer = ex.Explorer(tiny_G('Gs', label_size=3), workdir=str(tmp_path))
    app = ex.build_app(explorer)
    assert os.environ['GRADIO_ANALYTICS_ENABLED'] == 'False' and app.analytics_enabled is False
    dropdowns = [block for block in app.blocks.values() if getattr(block, 'elem_id', None) == 'class']
    assert dropdowns and dropdowns[0].visible
    assert [choice[1] for choice in dropdowns[0].choices] == ['zero labels', '0', '1', '2']

# ----------------------------------------------------------------------------
# The command line.


def test_help_is_fast_and_loads_neither_tensorflow_nor_gradio():
    code = ('import sys; sys.argv = ["explore.py", "--help"]; import explore\n'
            'try:\n    explore.main(["--help"])\nexcept SystemExit:\n    pass\n'
            'assert "tensorflow" not in sys.modules and "gradio" not in sys.modules, "heavy import"\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=python_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert '--network PKL' in proc.stdout and '127.0.0.1' in proc.stdout


def test_port_in_use_is_refused_with_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        start = time.time()
        proc = run_script('explore.py', '--network', tmp_path / 'missing.pkl', '--port', port, timeout=120)
    assert_one_error(proc, 'explore.py', 'port %d on 127.0.0.1 is in use' % port)
    assert time.time() - start < 30  # before TensorFlow and the network are loaded


def test_first_line_comes_at_once(tmp_path):
    """Loading TensorFlow, the network and the page takes a while: the user is told what is going on at once."""
    save_snapshot(tmp_path / 'net.pkl')
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'explore.py'), '--network', str(tmp_path / 'net.pkl'),
                             '--port', str(free_port())], cwd=ROOT, env=python_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        start = time.time()
        first = proc.stdout.readline()
        elapsed = time.time() - start
    finally:
        proc.kill()
        proc.communicate()
    assert first == 'Loading network %s for the explorer...\n' % (tmp_path / 'net.pkl')
    assert elapsed < 2.0, 'the first line took %.1f s' % elapsed


@pytest.mark.slow
def test_missing_network_is_one_line(tmp_path):
    proc = run_script('explore.py', '--network', tmp_path / 'missing.pkl', '--port', free_port(), timeout=300)
    assert_one_error(proc, 'explore.py', 'missing.pkl')

# ----------------------------------------------------------------------------
# The page, in a real browser. One app for the whole module.


@pytest.fixture(scope='module')
def snapshot(tmp_path_factory):
    """A tiny 32x32 snapshot, written in a graph of its own (the per-test session is not there yet)."""
    import tensorflow.compat.v1 as tf
    import dnnlib.tflib as tflib
    path = tmp_path_factory.mktemp('explore') / 'network-snapshot-000000.pkl'
    with tf.Graph().as_default(), tflib.create_session().as_default():
        save_snapshot(path)
    return str(path)


@pytest.fixture(scope='module')
def server(snapshot, tmp_path_factory):
    """explore.py on a free port, as a user starts it; yields (url, process)."""
    port = free_port()
    log_dir = tmp_path_factory.mktemp('explore-server')
    out, err = open(log_dir / 'stdout.txt', 'w+'), open(log_dir / 'stderr.txt', 'w+')
    env = python_env(GRADIO_TEMP_DIR=str(log_dir / 'gradio'))
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'explore.py'), '--network', snapshot, '--port', str(port)],
                            cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
    url = None
    deadline = time.time() + 300
    while time.time() < deadline and url is None and proc.poll() is None:
        time.sleep(0.5)
        out.seek(0)
        match = re.search(r'^explore\.py: serving .* at (http://\S+) \(Ctrl\+C to stop\)$', out.read(), re.M)
        url = match.group(1) if match else None
    if url is None:
        proc.kill()
        err.seek(0)
        pytest.fail('explore.py did not start: %s' % err.read()[-3000:])
    yield url, proc
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out.close()
    err.close()


@pytest.fixture(scope='module')
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get('EXPLORE_REQUIRE_BROWSER'):  # set by .ci/run, which installs it
            pytest.fail('Chromium is not installed at %s, and EXPLORE_REQUIRE_BROWSER is set' % CHROMIUM)
        pytest.skip('Chromium is not installed at %s (Debian: apt-get install chromium; .ci/run installs it)' % CHROMIUM)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server, request):
    """A fresh page of the app (default settings); every request it makes is recorded; a screenshot at the end."""
    url, _proc = server
    context = browser.new_context(viewport={'width': 1400, 'height': 1100}, accept_downloads=True)
    page = context.new_page()
    page.requests = []
    page.on('request', lambda req: page.requests.append(req.url))
    page.goto(url)
    page.locator('#grid img').first.wait_for(timeout=60000)
    expect_text(page, '#seed-info', 'seed 0')
    yield page
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, request.node.name + '.png'), full_page=True)
    hosts = {urllib.parse.urlsplit(u).netloc for u in page.requests if not u.startswith(('data:', 'blob:'))}
    context.close()
    assert hosts == {urllib.parse.urlsplit(url).netloc}, 'the page made requests elsewhere: %s' % hosts


def expect_text(page, selector, text, timeout=60000):
    from playwright.sync_api import expect
    expect(page.locator(selector)).to_contain_text(text, timeout=timeout)


def textbox(page, elem_id):
    return page.locator('#%s textarea, #%s input[type=text]' % (elem_id, elem_id)).first


def set_number(page, elem_id, value):
    box = page.locator('#%s input[type=number]' % elem_id)
    box.fill(str(value))
    box.press('Enter')


def page_image(page, elem_id):
    """The pixels of an image component as the browser got them (the PNG file the page shows)."""
    src = page.locator('#%s img' % elem_id).first.get_attribute('src')
    body = page.request.get(urllib.parse.urljoin(page.url, src)).body()
    return np.asarray(PIL.Image.open(io.BytesIO(body)))


def image_src(page, elem_id):
    img = page.locator('#%s img' % elem_id)
    return img.first.get_attribute('src') if img.count() else None


def wait_new_image(page, elem_id, old_src, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        src = image_src(page, elem_id)
        if src and src != old_src:
            return src
        time.sleep(0.05)
    raise AssertionError('#%s did not change' % elem_id)


def download(page, elem_id, dest_dir):
    with page.expect_download(timeout=60000) as info:
        page.locator('#' + elem_id).click()
    path = os.path.join(str(dest_dir), info.value.suggested_filename)
    info.value.save_as(path)
    return path


@pytest.fixture(scope='module')
def reference(snapshot):
    """The module's snapshot loaded once, in a graph and session of its own, for the expected images."""
    import tensorflow.compat.v1 as tf
    import dnnlib.tflib as tflib
    graph = tf.Graph()
    with graph.as_default():
        session = tflib.create_session()
        with session.as_default():
            Gs = misc.load_generator(snapshot)
    yield Gs, graph, session
    session.close()


@pytest.fixture
def Gs_of(reference):
    """The reference generator, with the test body running in its graph and session."""
    Gs, graph, session = reference
    with graph.as_default(), session.as_default():
        yield Gs


def choose_seed(page, seed):
    old = image_src(page, 'image')
    textbox(page, 'seed').fill(str(seed))
    start = time.perf_counter()
    page.locator('#show').click()
    expect_text(page, '#seed-info', 'seed %d' % seed)
    wait_new_image(page, 'image', old)
    return time.perf_counter() - start


@pytest.mark.slow
def test_seed_image_equals_generate_py(page, snapshot, tmp_path):
    set_number(page, 'psi', 0.7)
    expect_text(page, '#seed-info', '--trunc 0.7')
    choose_seed(page, 5)
    expect_text(page, '#seed-info', 'python generate.py --network %s --seeds 5 --trunc 0.7 --trunc-cutoff 8 --noise-mode const' % snapshot)
    shown = page_image(page, 'image')
    proc = run_script('generate.py', '--network', snapshot, '--seeds', '5', '--trunc', '0.7', '--outdir', tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = read_png(tmp_path / 'seed0005.png')
    assert shown.shape == expected.shape == (32, 32, 3)
    assert_same_images(shown, expected)
    # "re-draw noise" with the stored noise: it switches to random noise, and each press draws new noise.
    drawn = []
    for _ in range(2):
        old = image_src(page, 'image')
        page.locator('#redraw').click()
        expect_text(page, '#seed-info', '--noise-mode random')
        wait_new_image(page, 'image', old)
        drawn.append(page_image(page, 'image'))
    assert page.locator('#noise input[value=random]').is_checked()
    assert np.any(drawn[0] != shown) and np.any(drawn[1] != drawn[0])


@pytest.mark.slow
def test_seed_grid_pages_and_picks(page, Gs_of):
    assert page.locator('#grid img').count() == 12
    page.locator('#next').click()
    expect_text(page, '#grid', 'seed 23')
    assert textbox(page, 'seeds').input_value() == '12-23'
    old = image_src(page, 'image')
    page.locator('#grid img').nth(3).click()  # seed 15
    expect_text(page, '#seed-info', 'seed 15')
    wait_new_image(page, 'image', old)
    assert_same_images(page_image(page, 'image'), gen.generate_images(Gs_of, [15])[0])
    assert textbox(page, 'seed').input_value() == '15'


@pytest.mark.slow
def test_style_mixing_changes_exactly_the_chosen_layers(page, Gs_of):
    page.get_by_role('tab', name='Style mixing').click()
    textbox(page, 'mix-rows').fill('1-2')
    textbox(page, 'mix-cols').fill('3-5')
    page.locator('#mix-preset').get_by_text('middle', exact=True).click()
    from playwright.sync_api import expect
    expect(textbox(page, 'mix-layers')).to_have_value('4-7')
    page.locator('#mix-run').click()
    expect_text(page, '#mix-info', 'layers 4-7 (16x16-32x32) from its column')
    shown = page_image(page, 'mix-image')
    expected = np.asarray(gen.style_mix_canvas(*gen.style_mix_images(Gs_of, [1, 2], [3, 4, 5], [4, 5, 6, 7])))
    assert shown.shape == (3 * 32, 4 * 32, 3)
    assert_same_images(shown, expected)
    coarse = np.asarray(gen.style_mix_canvas(*gen.style_mix_images(Gs_of, [1, 2], [3, 4, 5], [0, 1, 2, 3])))
    assert np.mean(shown[32:, 32:] != coarse[32:, 32:]) > 0.5  # the cells depend on which layers are mixed
    np.testing.assert_array_equal(shown[:32], coarse[:32])     # the sources do not


@pytest.mark.slow
def test_interpolation_slider_in_w_and_z(page, Gs_of, tmp_path):
    page.get_by_role('tab', name='Interpolation').click()
    textbox(page, 'interp-a').fill('3')
    textbox(page, 'interp-b').fill('7')
    set_number(page, 'interp-frames', 5)
    set_number(page, 'interp-t', 0.25)
    expect_text(page, '#interp-info', 't = 0.250 between seed 3 and seed 7, linear in W')
    for space, label in (('w', 'linear in W'), ('z', 'spherical in Z')):
        if space == 'z':
            page.locator('#interp-space').get_by_text('Z (spherical)').click()
            expect_text(page, '#interp-info', label)
        frames = gen.interpolation_images(Gs_of, 3, 7, 5, space=space)
        assert_same_images(page_image(page, 'interp-image'), frames[1])  # t = 0.25 is frame 1 of 5
        assert_same_images(page_image(page, 'interp-strip'), gen.image_grid(frames, cols=5))
    z = np.load(download(page, 'interp-download-z', tmp_path), allow_pickle=False)
    assert z.shape == (1, 16) and z.dtype == np.float32


@pytest.mark.slow
def test_downloads_are_npy_files_edit_latents_takes(page, Gs_of, snapshot, tmp_path):
    record_response_times(page, Gs_of)
    choose_seed(page, 9)
    w_path = download(page, 'download-w', tmp_path)
    z_path = download(page, 'download-z', tmp_path)
    png_path = download(page, 'download-png', tmp_path)
    assert os.path.basename(w_path) == 'seed0009-dlatents.npy'
    w, z = np.load(w_path, allow_pickle=False), np.load(z_path, allow_pickle=False)
    assert w.shape == (8, 16) and w.dtype == np.float32
    assert z.shape == (1, 16) and z.dtype == np.float32
    np.testing.assert_array_equal(z, gen.seed_latents(Gs_of, [9]).astype(np.float32))
    np.testing.assert_array_equal(w, gen.seed_dlatents(Gs_of, [9])[0])
    np.testing.assert_array_equal(read_png(png_path), page_image(page, 'image'))
    np.save(tmp_path / 'zero.npy', np.zeros([16], np.float32))
    proc = run_script('edit_latents.py', 'apply', '--network', snapshot, '--dlatents', w_path, '--direction',
                      tmp_path / 'zero.npy', '--strengths=0', '--outdir', tmp_path / 'edits')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_same_images(read_png(tmp_path / 'edits' / 'seed0009-zero.png'), read_png(png_path))
    page.locator('#seed-edit').click()  # the same W, sent to the editor
    expect_text(page, '#edit-info', 'seed0009: no direction on all layers')
    assert_same_images(page_image(page, 'edit-image'), read_png(png_path))


def record_response_times(page, Gs):
    """Click-to-image time of the page against Gs.run for one image in this process (medians of 5), written
    to test-artifacts/explore/timings.txt. Only a loose bound is checked: the machine is shared."""
    clicks = [choose_seed(page, seed) for seed in (20, 21, 22, 23, 24)]
    gen.generate_images(Gs, [0])  # the graph
    runs = []
    for seed in (20, 21, 22, 23, 24):
        start = time.perf_counter()
        gen.generate_images(Gs, [seed])
        runs.append(time.perf_counter() - start)
    network_ms = [float(m) for m in re.findall(r'network time (\d+) ms', page.locator('#seed-info').inner_text())]
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, 'timings.txt'), 'a') as f:
        f.write('one 32x32 image: page click to image shown %.0f ms (median of 5), of which network %.0f ms; '
                'Gs.run in-process %.1f ms\n' % (1000 * np.median(clicks), network_ms[0], 1000 * np.median(runs)))
    assert np.median(clicks) < 10


@pytest.mark.slow
def test_projected_dlatents_move_along_directions(page, Gs_of, snapshot, tmp_path):
    """project_images.py's <name>-dlatents.npy with a direction at strength 2: the same image as edit_latents.py."""
    projected = tmp_path / 'face-dlatents.npy'
    np.save(projected, gen.seed_dlatents(Gs_of, [11])[0])
    direction = tmp_path / 'smile.npy'
    np.save(direction, np.random.RandomState(3).randn(16).astype(np.float32))
    page.get_by_role('tab', name='Edit dlatents').click()
    page.locator('#edit-dlatents input[type=file]').set_input_files(str(projected))
    expect_text(page, '#edit-info', 'face: no direction')
    page.locator('#edit-direction0 input[type=file]').set_input_files(str(direction))
    page.locator('#edit-direction0').get_by_text('smile.npy').first.wait_for()
    set_number(page, 'edit-strength0', 2)
    expect_text(page, '#edit-info', 'face: smile+2 on all layers')
    shown = page_image(page, 'edit-image')
    edited = np.load(download(page, 'edit-download-w', tmp_path), allow_pickle=False)
    np.testing.assert_allclose(edited, np.load(projected) + 2 * np.load(direction)[np.newaxis], rtol=0, atol=1e-6)
    proc = run_script('edit_latents.py', 'apply', '--network', snapshot, '--dlatents', projected, '--direction', direction,
                      '--strengths=2', '--outdir', tmp_path / 'edits')
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_array_equal(shown, read_png(tmp_path / 'edits' / 'face-smile.png'))


@pytest.mark.slow
def test_bad_input_shows_a_clear_message(page, tmp_path):
    textbox(page, 'seed').fill('abc')
    page.locator('#show').click()
    page.get_by_text("seed: 'abc' is not a number or a range like 0-7").first.wait_for(timeout=30000)
    textbox(page, 'seeds').fill('3-1')
    textbox(page, 'seeds').press('Enter')
    page.get_by_text("seeds: range '3-1' runs backwards: write 1-3").first.wait_for(timeout=30000)
    page.get_by_role('tab', name='Edit dlatents').click()
    np.save(tmp_path / 'w.npy', np.zeros([8, 16], np.float32))
    np.save(tmp_path / 'wrong.npy', np.zeros([3, 16], np.float32))
    page.locator('#edit-dlatents input[type=file]').set_input_files(str(tmp_path / 'w.npy'))
    expect_text(page, '#edit-info', 'w: no direction')
    page.locator('#edit-direction0 input[type=file]').set_input_files(str(tmp_path / 'wrong.npy'))
    page.locator('#edit-direction0').get_by_text('wrong.npy').first.wait_for()
    page.locator('#edit-run').click()
    page.get_by_text('wrong.npy: a direction must have shape [16] or [8, 16] for this network, got [3, 16]').first.wait_for(timeout=30000)


def listening_addresses(port):
    """Local addresses of sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                address, hex_port = fields[1].rsplit(':', 1)
                if int(hex_port, 16) == port and fields[3] == '0A':  # LISTEN
                    found.append(address)
    return found


def process_tcp_sockets(pid):
    """(local, remote) hex addresses of the TCP sockets a process holds (from /proc/<pid>/fd and /proc/net/tcp*)."""
    inodes = set()
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:
            continue
        if target.startswith('socket:['):
            inodes.add(target[8:-1])
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        if os.path.exists(table):
            with open(table) as f:
                found += [(fields[1], fields[2]) for fields in (line.split() for line in f.readlines()[1:])
                          if fields[9] in inodes]
    return found


def is_loopback_or_unset(hex_address):
    """/proc/net/tcp notation: IPv4 as 8 hex digits in host byte order (127.0.0.1 = 0100007F), IPv6 as 32."""
    address = hex_address.rsplit(':', 1)[0]
    if set(address) == {'0'}:
        return True
    if len(address) == 32 and address.startswith('0000000000000000FFFF0000'):  # IPv4-mapped
        address = address[24:]
    return (len(address) == 8 and address.endswith('7F')) or address == '0' * 24 + '01000000'  # 127/8 or ::1


@pytest.mark.slow
def test_serves_on_loopback_only(server):
    url, proc = server
    port = urllib.parse.urlsplit(url).port
    assert urllib.parse.urlsplit(url).hostname == '127.0.0.1'
    assert listening_addresses(port) == ['0100007F']  # 127.0.0.1, nothing else
    with socket.create_connection(('127.0.0.1', port), timeout=5):
        pass
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.2', port), timeout=5).close()  # another loopback address: not served
    sockets = process_tcp_sockets(proc.pid)
    assert ('0100007F:%04X' % port, '00000000:0000') in sockets  # the scan sees the server's own socket
    assert [remote for _local, remote in sockets if not is_loopback_or_unset(remote)] == []  # and no call out
    # A second explorer on the same port is refused with one line.
    proc2 = run_script('explore.py', '--network', 'unused.pkl', '--port', port, timeout=120)
    assert_one_error(proc2, 'explore.py', 'port %d on 127.0.0.1 is in use' % port)
    assert proc.poll() is None
