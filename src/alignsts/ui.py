"""Web UI and HTTP API (``alignsts ui``): one Gradio page over alignsts.api.

Layout and glue only: every decision (engine, melody, settings, validation) is alignsts.api's.
The page and the HTTP endpoint ``/convert`` (gradio_client) run the same function.

Files: everything the server writes lives in one private temporary folder (uploads, Gradio's
cache, outputs), removed when the server stops; outputs older than ``keep_minutes`` are deleted
while it runs. Only that folder's uploads and outputs are served (no ``allowed_paths``).
"""
from __future__ import annotations

import html
import inspect
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import api
from .errors import AlignSTSError, option
from .melody.scores import SCORE_SUFFIXES

log = logging.getLogger("alignsts")

F0_SUFFIXES = (".csv", ".npy")
SEMITONE_CHOICES = ["0", "-12", "+12"]
ERROR_TITLE = "alignsts: error"


@dataclass
class UIConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: int = 50          # any one uploaded file
    max_seconds: float = 300.0       # any one uploaded recording (speech, reference, melody, accompaniment)
    concurrency: int | None = None   # conversions at once; default and ceiling: the CPU cores
    queue_size: int = 16             # waiting conversions beyond that are refused ("queue full")
    keep_minutes: float = 60.0       # outputs and uploads are deleted after this
    checkpoint: str | None = None    # neural engine (offered only when given)
    vocoder: str | None = None
    content_model: str | None = None


def cpu_cores() -> int:
    from .lanes import usable_cores

    return usable_cores()


def concurrency_limit(cfg: UIConfig) -> int:
    """At most as many conversions at once as CPU cores."""
    cores = cpu_cores()
    return cores if cfg.concurrency is None else max(1, min(int(cfg.concurrency), cores))


def transpose_choices() -> list[str]:
    """The words api.convert's transpose takes (auto, fit), then some semitones."""
    from . import validate

    return list(validate.TRANSPOSE_WORDS) + SEMITONE_CHOICES


def range_choices() -> list[str]:
    """The page's range choices: none (from the speech), then the voice types."""
    from .melody import key

    return [""] + list(key.VOICE_RANGES)


def _transpose(text) -> str:
    """The page's text as it is (api.convert reads 'auto', 'fit', '-12', '+3.5'); empty -> 'auto'."""
    return str(text).strip() if text is not None and str(text).strip() else "auto"


class WorkDirs:
    """Per-conversion output folders under ``root``; old ones are swept when a new one is made
    (Gradio copies outputs into its cache after the handler returns, so none is removed at once)."""

    def __init__(self, root: Path, keep_s: float):
        self.root = root
        self.keep_s = keep_s
        root.mkdir(parents=True, exist_ok=True)

    def new(self) -> Path:
        self.sweep()
        path = self.root / uuid.uuid4().hex
        path.mkdir()
        return path

    def sweep(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for d in self.root.iterdir():
            try:
                if now - d.stat().st_mtime > self.keep_s:
                    shutil.rmtree(d, ignore_errors=True)
            except FileNotFoundError:
                pass


class Converter:
    """The page's Convert button and the /convert endpoint: page values -> api.convert -> files."""

    def __init__(self, cfg: UIConfig, work: WorkDirs, uploads: Path | None = None):
        self.cfg = cfg
        self.work = work
        self.uploads = uploads    # when set (the server), every file argument must lie in it

    def __call__(self, speech, reference=None, score=None, notes_text="", bpm=None, f0_file=None,
                 melody_recording=None, notes_only=False, lyrics="", engine="auto", transpose="auto",
                 formant=None, tempo=1.0, expression=True, vibrato_depth=None, vibrato_rate=None,
                 accompaniment=None, progress=None, sing_range=None, song=None):
        """Returns (sung audio, plot PNG, analysis JSON, mix audio, status text, song's vocals stem,
        song's instrumental stem); paths or None. ``sing_range``: where the user sings ('A2-E4' or
        a voice type; empty: from the speech)."""
        uploads = [p for p in (speech, reference, score, f0_file, melody_recording, accompaniment, song) if p]
        try:
            return self._convert(speech, reference, score, notes_text, bpm, f0_file, melody_recording,
                                 notes_only, lyrics, engine, transpose, formant, tempo, expression,
                                 vibrato_depth, vibrato_rate, accompaniment, progress, sing_range, song)
        except AlignSTSError as e:
            raise _page_error(e.rendered("page"), uploads) from None
        except Exception as e:  # a bug: still one line in the page; the server log has the traceback
            log.exception("conversion failed")
            first = str(e).splitlines()[0] if str(e) else ""
            raise _page_error(f"internal error: {type(e).__name__}: {first}", uploads) from None

    def _convert(self, speech, reference, score, notes_text, bpm, f0_file, melody_recording, notes_only,
                 lyrics, engine, transpose, formant, tempo, expression, vibrato_depth, vibrato_rate,
                 accompaniment, progress, sing_range=None, song=None):
        t0 = time.perf_counter()
        if not speech:
            raise AlignSTSError("speech: upload or record your spoken lyrics first")
        files = ((option("speech"), speech), (option("reference"), reference), (option("score"), score),
                 (option("f0"), f0_file), (option("melody_from"), melody_recording),
                 (option("accompaniment"), accompaniment), (option("song"), song))
        for name, path in files:
            if path:
                self._check_own_file(path, name)
        notes_text, lyrics = _text_field(notes_text, "notes"), _text_field(lyrics, "lyrics")
        for name, path in ((option("speech"), speech), (option("reference"), reference),
                           (option("melody_from"), melody_recording), (option("accompaniment"), accompaniment),
                           (option("song"), song)):
            if path:
                self._check_upload(path, name)
        kwargs = dict(reference=reference or None, melody_from=melody_recording or None, f0=f0_file or None,
                      tempo=1.0 if tempo is None else tempo, notes_only=bool(notes_only), bpm=bpm,
                      transpose=_transpose(transpose))
        if score:
            kwargs["score"] = score
        if notes_text and notes_text.strip():
            kwargs["notes"] = api.notes_from_text(notes_text, bpm=kwargs["bpm"], where=option("notes"))
        if lyrics and lyrics.strip():
            kwargs["lyrics"] = api.LyricsText(lyrics)    # text, never '@file': no field names a server file
        if formant is not None:
            kwargs["formant"] = formant     # api.convert validates it
        if accompaniment:
            kwargs["accompaniment"] = accompaniment
        if sing_range and str(sing_range).strip():
            kwargs["range"] = str(sing_range).strip()   # 'A2-E4' or a voice type; api.convert validates it
        if song:
            kwargs["song"] = song
        chosen = api.choose_engine(None if engine in (None, "", "auto") else engine, reference or song or None)
        config = api.engine_options(api.engine_config(chosen), chosen, expression=expression,
                                    vibrato_depth=vibrato_depth, vibrato_rate=vibrato_rate,
                                    checkpoint=self.cfg.checkpoint, vocoder=self.cfg.vocoder,
                                    content_model=self.cfg.content_model)
        report = _progress_callback(progress)
        result = api.convert(speech, engine=chosen, config=config, progress=report, **kwargs)
        out = self.work.new()
        stem = Path(speech).stem or "speech"
        sung = api.save(result, out / f"{stem}_sung.wav")
        if report:
            report("plot", 0.0)
        from .plot import plot_conversion

        plot = plot_conversion(result, out / f"{stem}_sung.png")
        analysis_json = _analysis_json(result, out / f"{stem}_sung.json")
        mix = _mix(result, out / f"{stem}_mix.wav")
        wall = time.perf_counter() - t0
        a = result.analysis
        status = (f"{len(result.wav) / result.sr:.1f} s sung by the {chosen} engine, transposed "
                  f"{a.transpose:+g} semitones, in {wall:.1f} s.")
        if a.key is not None:
            status += f" Key: {a.key.reason}."
        message = getattr(a, "message", "")   # the score engine's note on syllables and notes
        if message:
            status += f" {message}"
        return (str(sung), str(plot), analysis_json, mix, status) + _stems(result, out)

    def _check_own_file(self, path, name: str) -> None:
        """A file argument is a path the page itself received (under ``uploads``), else one line
        that is the same whether the path exists or not (nothing about the server leaks)."""
        if not isinstance(path, (str, os.PathLike)) or "\x00" in str(path):
            raise AlignSTSError(f"{name}: expected an uploaded file")
        if self.uploads is None:
            return
        real = os.path.realpath(path)
        root = os.path.realpath(self.uploads)
        if os.path.commonpath([real, root]) != root:
            raise AlignSTSError(f"{name}: not a file uploaded to this page")

    def _check_upload(self, path: str, name: str) -> None:
        seconds = api.audio_seconds(path, name=f"{name} {Path(path).name}")
        if seconds > self.cfg.max_seconds:
            raise AlignSTSError(f"{name} {Path(path).name}: {seconds:.0f} s is longer than this server's "
                                f"limit of {self.cfg.max_seconds:g} s")


MAX_FIELD_CHARS = 200_000     # a text field (notes, lyrics): a song's worth of text


def _text_field(value, name: str) -> str:
    """A text field's value as text (None -> ''); at most MAX_FIELD_CHARS characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AlignSTSError(f"{name}: expected text, got {type(value).__name__}")
    if len(value) > MAX_FIELD_CHARS:
        raise AlignSTSError(f"{name}: {len(value)} characters is too long (at most {MAX_FIELD_CHARS})")
    return value


def _analysis_json(result, path: Path) -> str | None:
    """The analysis (what was sung on which note) as JSON, where alignsts.api writes one."""
    try:
        return str(api.save_analysis(result, path))
    except AlignSTSError:     # not written for this engine
        return None


def _mix(result, path: Path) -> str | None:
    """The vocal over the accompaniment, when one was given."""
    if result.mix is None:
        return None
    return str(api.save_mix(result, path))


def _stems(result, folder: Path) -> tuple:
    """A song's separated (vocals, instrumental) as WAV files, or (None, None)."""
    if getattr(result, "stems", None) is None:
        return None, None
    return tuple(str(p) for p in api.save_stems(result, folder / "vocals.wav", folder / "instrumental.wav"))


def _progress_callback(progress):
    """api's (stage, fraction of that stage) -> Gradio's progress bar."""
    if progress is None:
        return None

    def report(stage: str, fraction: float) -> None:
        progress(max(0.0, min(1.0, float(fraction))), desc=stage)

    return report


def _page_error(message: str, uploads: list[str]):
    """One line for the page: upload folders replaced by the file's own name, HTML escaped."""
    import gradio as gr

    for path in sorted(uploads, key=len, reverse=True):
        message = message.replace(str(path), Path(path).name)
    message = message.replace(tempfile.gettempdir(), "…")
    return gr.Error(html.escape(message, quote=False), duration=None, title=ERROR_TITLE, print_exception=False)


def _theme():
    """The default theme with local fonts: the page loads nothing from other hosts."""
    import gradio as gr

    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                             font_mono=["ui-monospace", "monospace"])


def _audio_input(elem_id: str, label: str, mic: bool = True, visible: bool = True):
    """An upload (and microphone) box handing the handler a file path."""
    import gradio as gr

    return gr.Audio(sources=["upload", "microphone"] if mic else ["upload"], type="filepath", elem_id=elem_id,
                    label=label, buttons=["download"], visible=visible)


def build(cfg: UIConfig, work: WorkDirs, uploads: Path | None = None):
    """The page (a gr.Blocks); its Convert button is also the HTTP endpoint /convert. With
    ``uploads`` (the server's upload folder), files from anywhere else are refused."""
    import gradio as gr

    convert = Converter(cfg, work, uploads)
    defaults = api.engine_config("score").expression
    engines = ["auto", "reference", "score"] + (["neural"] if cfg.checkpoint else [])
    score_types = list(SCORE_SUFFIXES)
    with gr.Blocks(title="alignsts: sing yourself", analytics_enabled=False,
                   delete_cache=(max(60, int(cfg.keep_minutes * 30)), int(cfg.keep_minutes * 60))) as page:
        gr.Markdown("# alignsts: hear yourself sing\nRecord or upload your *spoken* lyrics, give a melody, "
                    "press **Convert**.")
        with gr.Row():
            with gr.Column():
                speech = _audio_input("speech-input", "Your speech (the lyrics, spoken)")
                gr.Markdown("**Melody** (one of these)")
                with gr.Tabs():
                    with gr.Tab("Sung reference", elem_id="tab-reference"):
                        reference = _audio_input("reference-input",
                                                 "A sung recording of the same words (reference engine)")
                    with gr.Tab("MIDI / score", elem_id="tab-score"):
                        score = gr.File(type="filepath", file_types=score_types, elem_id="score-input",
                                        label=f"Score ({' '.join(score_types)}), with or without lyrics")
                        lyrics = gr.Textbox(lines=2, label="Lyrics (optional)", elem_id="lyrics-input",
                                            )
                    with gr.Tab("Notes", elem_id="tab-notes"):
                        notes_text = gr.Textbox(lines=6, label="Notes: 'NOTE DURATION' per line, seconds",
                                                placeholder="C4 0.5\nD4 0.5\nE4 1\nrest 0.25",
                                                elem_id="notes-input")
                        bpm = gr.Number(value=None, label="BPM (durations in beats)", elem_id="bpm-input")
                    with gr.Tab("F0", elem_id="tab-f0"):
                        f0_file = gr.File(type="filepath", file_types=list(F0_SUFFIXES), elem_id="f0-input",
                                          label="F0 contour: CSV 'time,Hz' or .npy (hop 128 at 24 kHz)")
                    with gr.Tab("Tune of a recording", elem_id="tab-melody"):
                        melody_recording = _audio_input("melody-input",
                                                        "Any singing or playing: its tune, not its words")
                        notes_only = gr.Checkbox(False, label="its notes only (not its pitch contour)",
                                                 elem_id="notes-only-input")
                    with gr.Tab("Song", elem_id="tab-song"):
                        song = _audio_input("song-input", "A whole song (MP3, M4A, a video's audio ...): its "
                                            "vocal is sung with your voice, over its instrumental", mic=False)
                        song_vocals = gr.Audio(type="filepath", label="The song's vocal (separated)",
                                               elem_id="song-vocals", interactive=False, buttons=["download"])
                        song_band = gr.Audio(type="filepath", label="The song's instrumental (separated)",
                                             elem_id="song-instrumental", interactive=False, buttons=["download"])
                with gr.Accordion("Options", open=False, elem_id="options"):
                    engine = gr.Radio(engines, value="auto", label="Engine", elem_id="engine-input",
                                      info="auto: reference with a sung reference, score otherwise")
                    transpose = gr.Dropdown(transpose_choices(), value="auto", allow_custom_value=True,
                                            label="Transpose", elem_id="transpose-input",
                                            info="auto: octaves into your range; fit: the key that fits your "
                                                 "voice; or semitones")
                    sing_range = gr.Dropdown(range_choices(), value="", allow_custom_value=True,
                                             label="Your range", elem_id="range-input",
                                             info="where you sing: a voice type or notes like A2-E4 "
                                                  "(`alignsts range my_singing.wav` measures it); empty: "
                                                  "guessed from your speech")
                    formant = gr.Slider(0.8, 1.25, value=1.0, step=0.01, label="Formant factor",
                                        info=">1 brighter, <1 darker; 1 = your own voice",
                                        elem_id="formant-input")
                    tempo = gr.Number(1.0, label="Tempo factor (scores)", elem_id="tempo-input")
                    expression = gr.Checkbox(defaults.expression, label="Expression (vibrato, overshoot)",
                                             elem_id="expression-input")
                    vibrato_depth = gr.Slider(0, 150, value=defaults.vibrato_depth, step=5,
                                              label="Vibrato depth (cents)", elem_id="vibrato-depth-input")
                    vibrato_rate = gr.Slider(3, 9, value=defaults.vibrato_rate, step=0.5,
                                             label="Vibrato rate (Hz)", elem_id="vibrato-rate-input")
                    accompaniment = _audio_input("accompaniment-input", "Accompaniment to mix with", mic=False,
                                                 )
                button = gr.Button("Convert", variant="primary", elem_id="convert-button")
            with gr.Column():
                sung = gr.Audio(type="filepath", label="You, singing", elem_id="output-audio",
                                interactive=False, buttons=["download"])
                status = gr.Markdown(elem_id="status", label="Result")
                plot = gr.Image(type="filepath", label="Pitch, notes and alignment", elem_id="pitch-plot",
                                interactive=False)
                mix = gr.Audio(type="filepath", label="Mix with the accompaniment", elem_id="mix-audio",
                               interactive=False, buttons=["download"])
                analysis = gr.File(label="Analysis (JSON)", elem_id="analysis-json", interactive=False,
                                   )
        gr.Markdown(f"Limits: {cfg.max_upload_mb} MB and {cfg.max_seconds:g} s per uploaded file; "
                    f"{concurrency_limit(cfg)} conversion(s) at once, {cfg.queue_size} waiting; results are "
                    f"kept {cfg.keep_minutes:g} minutes.", elem_id="limits")

        def run(speech, reference=None, score=None, notes_text=None, bpm=None, f0_file=None,
                melody_recording=None, notes_only=False, lyrics=None, engine="auto", transpose="auto",
                formant=1.0, tempo=1.0, expression=defaults.expression, vibrato_depth=defaults.vibrato_depth,
                vibrato_rate=defaults.vibrato_rate, accompaniment=None, sing_range="", song=None,
                progress=gr.Progress()):
            """Sing ``speech`` to one melody (reference, score, notes_text, f0_file, melody_recording or a
            whole song); returns (sung audio, plot PNG, analysis JSON, mix, status line, the song's vocals
            and instrumental stems)."""
            return convert(speech, reference, score, notes_text, bpm, f0_file, melody_recording, notes_only,
                           lyrics, engine, transpose, formant, tempo, expression, vibrato_depth, vibrato_rate,
                           accompaniment, progress, sing_range, song)

        button.click(run, inputs=[speech, reference, score, notes_text, bpm, f0_file, melody_recording,
                                  notes_only, lyrics, engine, transpose, formant, tempo, expression,
                                  vibrato_depth, vibrato_rate, accompaniment, sing_range, song],
                     outputs=[sung, plot, analysis, mix, status, song_vocals, song_band], api_name="convert",
                     concurrency_limit=concurrency_limit(cfg), show_progress="full")
    page.queue(default_concurrency_limit=concurrency_limit(cfg), max_size=cfg.queue_size)
    return page


class Server:
    """A running UI: ``url``; ``close()`` stops it and removes every file it wrote."""

    def __init__(self, page, root: Path, url: str):
        self.page, self.root, self.url = page, root, url

    def close(self) -> None:
        try:
            self.page.close()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _private_root() -> Path:
    """One private folder for uploads, Gradio's cache and outputs (env set before gradio is imported)."""
    root = Path(tempfile.mkdtemp(prefix="alignsts-ui-"))
    os.environ["GRADIO_TEMP_DIR"] = str(root / "uploads")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(root / "examples")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    if os.environ.pop("GRADIO_ALLOWED_PATHS", None):   # Gradio would serve them: allowed_paths=[] reads it
        log.warning("ignoring GRADIO_ALLOWED_PATHS: the page serves only its own uploads and results")
    return root


def _launch_options(page, cfg: UIConfig) -> dict:
    """Gradio's launch() settings: local, private, nothing served but this page's own files.

    No allowed_paths: Gradio then serves only its upload/cache folder (inside our private root)
    and its static assets. Options an older Gradio lacks are left out."""
    wanted = dict(server_name=cfg.host, server_port=cfg.port, prevent_thread_lock=True, share=False,
                  inbrowser=False, quiet=True, show_error=False, allowed_paths=[],
                  max_file_size=f"{cfg.max_upload_mb}mb", enable_monitoring=False, ssr_mode=False, pwa=False,
                  mcp_server=False, run_history=False, footer_links=["api"], theme=_theme())
    accepted = inspect.signature(page.launch).parameters
    return {k: v for k, v in wanted.items() if k in accepted}


def start(cfg: UIConfig) -> Server:
    """Serve the page without blocking; returns the Server."""
    try:
        root = _private_root()
        import gradio  # noqa: F401
    except ImportError:
        raise AlignSTSError("the web UI needs Gradio: pip install 'alignsts[ui]'") from None
    try:
        page = build(cfg, WorkDirs(root / "outputs", cfg.keep_minutes * 60), uploads=root / "uploads")
        _, url, _ = page.launch(**_launch_options(page, cfg))
    except OSError as e:
        shutil.rmtree(root, ignore_errors=True)
        raise AlignSTSError(f"cannot serve on {cfg.host}:{cfg.port} ({e})") from None
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Server(page, root, url)


def serve(cfg: UIConfig) -> int:
    """``alignsts ui``: serve until Ctrl-C / SIGTERM, then clean up."""
    import signal

    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s: anyone who can reach this address can use the page", cfg.host)
    server = start(cfg)
    print(f"alignsts ui: serving on {server.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    stop = {"now": False}

    def on_term(signum, frame):
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while not stop["now"]:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return 0
