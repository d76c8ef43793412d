"""Web UI and HTTP API (alignsts.ui): the handler directly, then a real server on 127.0.0.1
driven by headless Chromium (Debian's chromium + chromedriver, given explicitly so selenium
downloads nothing) and by gradio_client."""
from __future__ import annotations

import io
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from alignsts import api
from alignsts.audio import frontend as fe

gr = pytest.importorskip("gradio", reason="the ui extra is not installed (pip install 'alignsts[ui]')")
from alignsts import ui  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import ui_browser  # noqa: E402  (the headless-Chromium helpers the screenshot and benchmark use)

START_TIMEOUT_S = 180     # a loaded 2-core CI machine imports gradio slowly
CONVERT_TIMEOUT_S = 240


# ---------------------------------------------------------------- the handler, without a server

@pytest.fixture
def converter(tmp_path):
    return ui.Converter(ui.UIConfig(max_seconds=60), ui.WorkDirs(tmp_path / "work", keep_s=3600))


def test_transpose_text_goes_to_the_api_as_typed():
    assert ui._transpose(None) == "auto" and ui._transpose(" ") == "auto" and ui._transpose(" -12 ") == "-12"
    assert ui.transpose_choices()[0] == "auto" and "-12" in ui.transpose_choices()


def test_concurrency_never_above_cores():
    cores = ui.cpu_cores()
    assert ui.concurrency_limit(ui.UIConfig()) == cores
    assert ui.concurrency_limit(ui.UIConfig(concurrency=cores + 5)) == cores
    assert ui.concurrency_limit(ui.UIConfig(concurrency=0)) == 1


def test_workdirs_sweeps_only_old_folders(tmp_path):
    work = ui.WorkDirs(tmp_path / "w", keep_s=100)
    old, new = work.new(), work.new()
    os.utime(old, (time.time() - 200, time.time() - 200))
    work.sweep()
    assert not old.exists() and new.exists()


def test_converter_reference_writes_audio_plot_and_status(converter, demo_paths):
    speech, sing = demo_paths
    seen = []
    sung, plot, _json, mix, status, *_stems = converter(str(speech), reference=str(sing),
                                               progress=lambda f, desc=None: seen.append((f, desc)))
    wav, sr = sf.read(sung)
    ref_n = len(api.load_input(sing, "reference"))
    assert sr == fe.SAMPLE_RATE and abs(len(wav) - ref_n) <= fe.HOP and np.sqrt(np.mean(wav ** 2)) > 1e-3
    assert Path(plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and mix is None
    assert "reference engine" in status and "Key: " in status and "same-speaker score" in status
    assert seen and all(0.0 <= f <= 1.0 and desc for f, desc in seen)


def test_converter_passes_fit_and_formant(converter, demo_paths, centroid):
    speech, _ = demo_paths
    notes = "C4 0.6\nD4 0.6\nE4 0.6\nF4 0.6\nG4 1.2"
    plain, *_ = converter(str(speech), notes_text=notes, expression=False, transpose="fit", formant=1.0)
    bright, _plot, _json, _mix, status, *_ = converter(str(speech), notes_text=notes, expression=False,
                                                   transpose="fit", formant=1.2)
    assert "(fit)" not in status and "shifted" in status       # the fit decision's reason is shown
    a, b = sf.read(plain)[0], sf.read(bright)[0]
    assert len(a) == len(b)


    assert centroid(b) > 1.05 * centroid(a)
    with pytest.raises(gr.Error, match="'Formant factor' .* must be a number from 0.8 to 1.25"):
        converter(str(speech), notes_text=notes, formant=2.0)


def test_converter_typed_notes_and_score_options(converter, demo_paths):
    speech, _ = demo_paths
    sung, _plot, _json, _mix, status, *_ = converter(str(speech), notes_text="C4 0.6\nD4 0.6\nE4 0.6\nF4 0.6\nG4 1.2",
                                                 expression=False, transpose="0")
    assert "score engine" in status and sf.info(sung).duration > 3.0


def test_converter_bad_input_is_one_line(converter, demo_paths):
    speech, sing = demo_paths
    cases = [(dict(speech=None, reference=str(sing)), "speech: upload or record your spoken lyrics"),
             (dict(speech=str(speech), notes_text="C4 half"), "'Notes':1: duration 'half' is not a number"),
             (dict(speech=str(speech), reference=str(sing), notes_text="C4 1"), "either 'Sung reference' (a sung recording) or a melody"),
             (dict(speech=str(speech), reference=str(sing), transpose="up"), "'Transpose' must be 'auto"),
             (dict(speech=str(speech), notes_text="C4 1", tempo=0), "'Tempo factor' must be"),
             (dict(speech=str(speech), notes_text="C4 1", vibrato_depth=-5), "'Vibrato depth' (cents) must be"),
             (dict(speech=str(speech), reference=str(sing), engine="neural"), "")]
    for kwargs, message in cases:
        with pytest.raises(gr.Error) as info:
            converter(**kwargs)
        text = info.value.message
        assert message in text and text and "\n" not in text and "Traceback" not in text


def test_converter_names_the_upload_not_its_folder(converter, tmp_path, demo_paths):
    bad = tmp_path / "uploads" / "abc123" / "my <i>voice.wav"
    bad.parent.mkdir(parents=True)
    bad.write_text("not audio")
    with pytest.raises(gr.Error) as info:
        converter(str(bad), reference=str(demo_paths[1]))
    text = info.value.message
    assert "'Your speech' my &lt;i&gt;voice.wav: not a readable audio file" in text and str(tmp_path) not in text


def test_converter_refuses_recordings_over_the_limit(tmp_path, demo_paths, write_wav, tone):
    conv = ui.Converter(ui.UIConfig(max_seconds=6.0), ui.WorkDirs(tmp_path / "w", 3600))
    long_ref = write_wav(tmp_path / "long.wav", tone(220.0, 9.0))
    with pytest.raises(gr.Error) as info:
        conv(str(demo_paths[0]), reference=str(long_ref))
    assert info.value.message == "'Sung reference' long.wav: 9 s is longer than this server's limit of 6 s"


def test_cli_ui_rejects_bad_settings(capsys):
    from alignsts.cli import main

    assert main(["ui", "--port", "70000"]) == 2
    assert main(["ui", "--max-seconds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("alignsts: error:") for line in err)


# ---------------------------------------------------------------- a real server

class UIProcess(ui_browser.Server):
    """``python -m alignsts ui`` in a subprocess with its own TMPDIR (so its files can be checked)."""

    def __init__(self, tmp: Path, *args: str):
        self.tmp = tmp / "server-tmp"
        self.tmp.mkdir()
        super().__init__(*args, timeout=START_TIMEOUT_S,
                         env=dict(TMPDIR=str(self.tmp),
                                  GRADIO_ALLOWED_PATHS="/etc,/work,/home,/root"))   # ignored: it must serve only its own files


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = UIProcess(tmp_path_factory.mktemp("ui"), "--max-upload-mb", "1")   # the demo files are < 0.5 MB
    yield srv
    srv.stop()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def expected_samples(**melody) -> int:
    """Length of the same conversion through alignsts.api (what the CLI writes)."""
    speech, _sing, _midi = api.demo_files()
    return len(api.convert(speech, **melody).wav)


@pytest.fixture(scope="module")
def browser():
    if not (Path(ui_browser.CHROMIUM).exists() and Path(ui_browser.CHROMEDRIVER).exists()):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make sysdeps installs them)")
    pytest.importorskip("selenium.webdriver")
    driver = ui_browser.browser()
    yield driver
    ui_browser.quit_browser(driver)


def open_page(browser, server):
    ui_browser.open_page(browser, server.url)


def upload(browser, elem_id: str, path: Path, tab: str | None = None) -> None:
    """Choose a file in an input (after showing its tab) and wait until the upload is done."""
    ui_browser.upload(browser, elem_id, path, tab=tab)
    ui_browser.wait_uploaded(browser, elem_id)


def convert_in_page(browser) -> tuple[np.ndarray, int, str]:
    """Click Convert, wait for the sung audio, fetch it as the page links it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, "convert-button").click()
    link = WebDriverWait(browser, CONVERT_TIMEOUT_S).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#output-audio a[download]")
        if d.find_elements(By.CSS_SELECTOR, "#output-audio a[download]") else None)
    wav, sr = sf.read(io.BytesIO(fetch(link.get_attribute("href"))))
    return wav, sr, browser.find_element(By.ID, "status").text


@pytest.mark.slow
def test_page_sings_after_a_sung_reference(server, browser):
    from selenium.webdriver.common.by import By

    speech, sing, _ = api.demo_files()
    open_page(browser, server)
    upload(browser, "speech-input", speech)
    upload(browser, "reference-input", sing, tab="tab-reference")
    wav, sr, status = convert_in_page(browser)
    assert sr == fe.SAMPLE_RATE and len(wav) == expected_samples(reference=sing)
    assert abs(len(wav) - len(api.load_input(sing, "reference"))) <= fe.HOP
    assert np.all(np.isfinite(wav)) and np.sqrt(np.mean(wav ** 2)) > 1e-3
    assert "reference engine" in status
    img = browser.find_element(By.CSS_SELECTOR, "#pitch-plot img").get_attribute("src")
    assert fetch(img)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_page_sings_to_a_midi_file(server, browser):
    speech, _, midi = api.demo_files()
    open_page(browser, server)
    upload(browser, "speech-input", speech)
    upload(browser, "score-input", midi, tab="tab-score")
    wav, sr, status = convert_in_page(browser)
    assert sr == fe.SAMPLE_RATE and len(wav) == expected_samples(score=midi)
    assert np.sqrt(np.mean(wav ** 2)) > 1e-3 and "score engine" in status


@pytest.mark.slow
def test_page_shows_the_error_of_a_bad_file(server, browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    bad = tmp_path / "not_audio.wav"
    bad.write_text("this is not audio\n" * 100)
    open_page(browser, server)
    upload(browser, "speech-input", bad)
    upload(browser, "reference-input", api.demo_files()[1], tab="tab-reference")
    browser.find_element(By.ID, "convert-button").click()

    def toast_text(driver) -> str | None:
        # The toast element appears before its text is filled in (and .text is empty while it
        # fades in), so wait for the DOM text itself.
        texts = [el.get_attribute("textContent").strip()
                 for el in driver.find_elements(By.CSS_SELECTOR, "[data-testid=toast-text]")]
        return next((t for t in texts if t), None)

    message = WebDriverWait(browser, CONVERT_TIMEOUT_S,
                            ignored_exceptions=(StaleElementReferenceException,)).until(toast_text)
    assert message.startswith("'Your speech' not_audio.wav: not a readable audio file"), message
    assert "Traceback" not in browser.page_source and str(server.tmp) not in message
    assert not browser.find_elements(By.CSS_SELECTOR, "#output-audio a[download]")


@pytest.mark.slow
def test_http_api_through_gradio_client(server):
    from gradio_client import Client, handle_file

    speech, sing, midi = api.demo_files()
    client = Client(server.url, verbose=False, download_files=str(server.tmp.parent / "client"))
    sung, plot, _analysis, _mix, status, *_stems = client.predict(speech=handle_file(str(speech)),
                                                         reference=handle_file(str(sing)), api_name="/convert")
    wav, sr = sf.read(sung)
    assert sr == fe.SAMPLE_RATE and len(wav) == expected_samples(reference=sing) and "reference engine" in status
    sung, *_ = client.predict(speech=handle_file(str(speech)), score=handle_file(str(midi)), tempo=1.25,
                              api_name="/convert")
    assert len(sf.read(sung)[0]) == expected_samples(score=midi, tempo=1.25)
    with pytest.raises(Exception, match="'Your speech' twinkle.mid: not a readable audio file"):
        client.predict(speech=handle_file(str(midi)), reference=handle_file(str(sing)), api_name="/convert")


def test_http_api_reads_no_server_file(server):
    """Issue 17: '@path' in a text field is text; a file field naming a server path (not an upload)
    is refused with the same message whether the path exists or not."""
    from gradio_client import Client, handle_file

    speech, _sing, _midi = api.demo_files()
    client = Client(server.url, verbose=False, download_files=str(server.tmp.parent / "client17"))
    _sung, _plot, analysis, _mix, _status, *_stems = client.predict(
        speech=handle_file(str(speech)), notes_text="C4 0.5\nD4 0.5\nE4 1", lyrics="@/etc/passwd",
        api_name="/convert")
    text = Path(analysis).read_text()
    assert "root" not in text and "passwd" in text      # the words '@/etc/passwd' were sung, not the file
    # gradio_client uploads local files itself: the raw HTTP call names a server path directly
    secret = server.tmp.parent / "secret17.mid"
    secret.write_bytes(api.demo_files()[2].read_bytes())
    errors = [raw_convert_error(server.url, str(path)) for path in (secret, server.tmp.parent / "missing17.mid")]
    assert errors[0] is not None and errors[0] == errors[1], errors


def raw_convert_error(url: str, score_path: str) -> str | None:
    """POST /gradio_api/call/convert with ``score`` naming a server path (no upload); the error event's
    text (with the path replaced by PATH), or None when it converted."""
    import json

    data = [None] * 19   # the page's inputs (button.click in ui.build)
    data[2] = {"path": score_path, "meta": {"_type": "gradio.FileData"}}
    data[0] = {"path": score_path, "meta": {"_type": "gradio.FileData"}}
    req = urllib.request.Request(f"{url}gradio_api/call/convert", data=json.dumps({"data": data}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            event = json.loads(r.read())["event_id"]
        with urllib.request.urlopen(f"{url}gradio_api/call/convert/{event}", timeout=CONVERT_TIMEOUT_S) as r:
            stream = r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        stream = f"HTTP {e.code} {e.read().decode('utf-8', 'replace')}"
    if "event: complete" in stream:
        return None
    return stream.replace(score_path, "PATH")


@pytest.mark.slow
def test_serves_only_its_own_files(server, project_root):
    for outside in ("/etc/passwd", str(project_root / "README.md"), str(api.demo_files()[0])):
        with pytest.raises(urllib.error.HTTPError) as info:
            fetch(f"{server.url}gradio_api/file={outside}")
        assert info.value.code == 403
    assert server.url.startswith("http://127.0.0.1:")


def post_upload(url: str, path: Path) -> int:
    """POST a file to Gradio's upload route as the page does; the HTTP status."""
    import uuid

    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{path.name}"\r\n'
            f"Content-Type: audio/wav\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"{url}gradio_api/upload", data=body,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.slow
def test_uploads_over_the_size_limit_are_refused(server, tmp_path, write_wav, tone):
    from gradio_client import Client, handle_file

    big = write_wav(tmp_path / "big.wav", tone(220.0, 30.0), subtype="PCM_16")   # 1.4 MB
    assert post_upload(server.url, big) == 413
    assert post_upload(server.url, api.demo_files()[0]) == 200
    client = Client(server.url, verbose=False, download_files=str(tmp_path / "client"))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        client.predict(speech=handle_file(str(api.demo_files()[0])), reference=handle_file(str(big)),
                       api_name="/convert")


@pytest.mark.slow
def test_stopping_removes_every_file_it_wrote(server):
    assert list(server.tmp.glob("alignsts-ui-*")), "the server keeps its files in one private folder"
    assert server.stop() == 0
    assert not list(server.tmp.iterdir())


@pytest.mark.slow
def test_converter_song_gives_cover_and_stems(converter, tmp_path):
    """The Song tab: a whole song in, your vocal, the cover and the two stems out, as long as the song."""
    speech, sing, _ = api.demo_files()
    vocal = api.load_input(sing, "sing")
    n = len(vocal) + fe.SAMPLE_RATE
    t = np.arange(n) / fe.SAMPLE_RATE
    band = 0.05 * np.sin(2 * np.pi * 110 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    song = np.stack([band, band], axis=1)
    song[fe.SAMPLE_RATE:, :] += 1.4 * vocal[:, None]
    path = tmp_path / "song.wav"
    sf.write(str(path), (0.9 * song / np.max(np.abs(song))).astype(np.float32), fe.SAMPLE_RATE)
    sung, _plot, _json, mix, status, vocals, instrumental = converter(str(speech), song=str(path))
    for f in (sung, mix, vocals, instrumental):
        assert abs(len(sf.read(f)[0]) - n) <= 1, f
    assert sf.read(mix)[0].ndim == 2 and "reference engine" in status
