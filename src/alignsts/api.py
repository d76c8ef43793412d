"""Python API. The CLI is a thin layer over these functions."""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from .audio import frontend as fe
from .audio import io, level, world
from . import validate as check
from .engines.analysis import ConversionAnalysis
from .errors import AlignSTSError, AudioInputError, InvalidValueError, MelodyError, OutputError, option
from .textfiles import Text as LyricsText   # words as text: never read as '@file' (the web page's)
from .melody.notes import Melody, Note

log = logging.getLogger("alignsts")


class _OnUse:
    """A module imported on its first attribute access: the engines (numba, scipy) load only when
    a conversion needs them, so the command line's checks and errors stay quick."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


ref_engine = _OnUse("alignsts.engines.reference")
score_engine = _OnUse("alignsts.engines.score")
sources = _OnUse("alignsts.melody.sources")

AudioInput = Union[str, os.PathLike, tuple]   # a path, or (waveform [N], sample_rate)
Progress = Callable[[str, float], None]       # (stage name, fraction done of that stage)

ENGINES = ("reference", "score", "neural")
_SOURCES = ("reference", "midi", "notes", "f0", "melody_from", "score")   # the melody's keywords


@dataclass
class Result:
    """A converted song: ``wav`` [N] at ``sr`` plus the frame-level ``analysis``, a
    ConversionAnalysis (speech_f0, target_f0, transpose) of the engine's kind: reference
    engines.reference.Analysis, score engines.score.ScoreAnalysis, neural engines.neural.NeuralAnalysis;
    with an accompaniment, ``mix`` [N'] or [N', C] is the vocal over it."""
    wav: np.ndarray
    sr: int
    analysis: ConversionAnalysis
    inputs: tuple = ()   # the input files it was made from: save() never writes over them
    mix: np.ndarray | None = None
    stems: Any = None    # with a song: engines.cover.SongStems (vocals, instrumental [N, C])

    def __iter__(self):  # allows ``wav, sr, analysis = alignsts.convert(...)``
        return iter((self.wav, self.sr, self.analysis))


@dataclass(frozen=True)
class _SongVocal:
    """A song's separated lead vocal as the reference: ``wav`` [N] at 24 kHz and ``f0``
    [n_frames(N)] Hz, the separator's F0 of it (its track follows the voice in the mix, which
    reads the melody better than Praat on the separated vocal: benchmarks/cover.py's own-voice
    chroma accuracy +0.005); None: the engine tracks the vocal itself."""
    wav: np.ndarray
    f0: np.ndarray | None


def _reference_f0(reference) -> np.ndarray | None:
    """The melody F0 a reference brings with it (a song's separated vocal), else None."""
    return reference.f0 if isinstance(reference, _SongVocal) else None


def choose_engine(engine: str | None, reference: AudioInput | None = None) -> str:
    """The engine to run: ``engine`` when given, else 'reference' with a sung reference, else 'score'."""
    if engine is not None and not isinstance(engine, str):
        raise InvalidValueError(f"{option('engine')} must be one of {', '.join(ENGINES)}, got {engine!r}")
    engine = engine or ("reference" if reference is not None else "score")
    if engine not in ENGINES:
        raise InvalidValueError(f"{option('engine')}: unknown engine {engine!r}; available: {', '.join(ENGINES)}")
    return engine


def engine_config(engine: str, path: str | os.PathLike | None = None):
    """The config of ``engine`` ('reference', 'score' or 'neural'): read from a YAML file when
    ``path`` is given (unknown keys are an error), else the defaults."""
    from .config import load_yaml

    if engine == "neural":
        from .engines.neural import NeuralConfig as cls
    else:
        engine = choose_engine(engine)   # (only the chosen engine's module is imported)
        cls = ref_engine.ReferenceConfig if engine == "reference" else score_engine.ScoreConfig
    return load_yaml(cls, path) if path else cls()


def load_input(audio: AudioInput, name: str) -> np.ndarray:
    """A path or a (waveform, sample_rate) pair -> validated 24 kHz waveform [N].

    The waveform may be [N], [N, channels] or [channels, N], float (-1..1) or integer PCM.
    ``name``: the option it came from (an API keyword: 'speech', 'reference', 'melody_from' ...),
    named in messages as the caller spells it (errors.option).
    """
    name = option(name)
    if isinstance(audio, _SongVocal):
        return io.check_audio(audio.wav, fe.SAMPLE_RATE, name)
    if isinstance(audio, (str, os.PathLike)):
        return io.load(audio, fe.SAMPLE_RATE, name=f"{name} {audio}")
    if isinstance(audio, tuple) and len(audio) == 2:
        wav, sr = audio
        if isinstance(wav, (str, os.PathLike, bytes)) or wav is None:
            raise AudioInputError(f"{name}: a file path takes no sample rate; give the path alone or a "
                                  f"(waveform, sample_rate) pair")
        wav = io.check_audio(wav, sr, name)
        return io.resample(wav, int(sr), fe.SAMPLE_RATE)
    raise AudioInputError(f"{name}: expected a file path or a (waveform, sample_rate) pair, "
                          f"got {type(audio).__name__}")


def _lyrics_file(lyrics) -> tuple:
    """The file of '@file.txt' lyrics (an input no output may replace), or nothing."""
    return (lyrics[1:],) if isinstance(lyrics, str) and lyrics.startswith("@") and len(lyrics) > 1 else ()


def _input_paths(*values) -> tuple[Path, ...]:
    return tuple(Path(v) for v in values if isinstance(v, (str, os.PathLike)))


def _check_source_kwargs(track, channel, tempo, bpm, notes_only) -> tuple:
    """The melody-source options at the API boundary (each error names the value and its range)."""
    return (check.track(track), check.channel(channel), check.tempo(tempo), check.bpm(bpm),
            check.boolean(notes_only, option("notes_only")))


def load_melody(*, midi=None, notes=None, f0=None, melody_from: AudioInput | None = None,
                score=None, lyrics: str | None = None, track: int | None = None, channel: int | None = None,
                tempo: float = 1.0, bpm: float | None = None, notes_only: bool = False) -> Melody:
    """Exactly one melody source -> Melody.

    ``midi``: a .mid path; ``notes``: a note-list path ('C4 0.5' per line; beats with ``bpm``)
    or a list of Note; ``f0``: a CSV/NPY path or an array [T] Hz on the 24 kHz / hop 128 grid;
    ``melody_from``: a recording (path or (wav, sr)) whose melody, not words, is taken: its
    notes and its performed pitch contour, or with ``notes_only`` its notes alone;
    ``score``: a score with words (MusicXML .musicxml/.xml/.mxl, UTAU .ust, OpenUtau .ustx,
    MIDI with lyric events; ``track`` picks its part). ``lyrics``: words for notes that have
    none (the text, or '@file.txt'): one syllable per note, see melody.lyrics.put_lyrics;
    what was done is logged as a warning.
    """
    melody = _load_notes(midi=midi, notes=notes, f0=f0, melody_from=melody_from, score=score, track=track,
                         channel=channel, tempo=tempo, bpm=bpm, notes_only=notes_only)
    if lyrics is not None:
        melody = with_lyrics(melody, lyrics)
    return melody


def with_lyrics(melody: Melody, lyrics: str) -> Melody:
    """``melody`` with the words ``lyrics`` (text or '@file.txt') laid on its notes, one
    syllable per note; a score's own words are replaced (with a warning)."""
    from .melody import lyrics as lyr

    if not isinstance(lyrics, str):
        raise MelodyError(f"{option('lyrics')}: expected the words as text (or '@file.txt'), got {type(lyrics).__name__}")
    text = lyr.read_lyrics_arg(lyrics)
    if lyr.has_lyrics(melody.notes):
        log.warning("lyrics: the melody has words of its own; replacing them with the given lyrics")
    notes, message = lyr.put_lyrics(melody.notes, text)
    log.warning("%s", message)
    return dataclasses.replace(melody, notes=notes)


def _load_notes(*, midi, notes, f0, melody_from, score, track, channel, tempo, bpm, notes_only) -> Melody:
    given = [k for k, v in (("midi", midi), ("notes", notes), ("f0", f0), ("melody_from", melody_from),
                            ("score", score)) if v is not None]
    if len(given) != 1:
        raise MelodyError("give exactly one melody source (" + option(*_SOURCES[1:]) + "), got "
                          + (option(*given) if given else "none"))
    track, channel, tempo, bpm, notes_only = _check_source_kwargs(track, channel, tempo, bpm, notes_only)
    for keyword, value in (("midi", midi), ("notes", notes), ("f0", f0), ("score", score)):
        if isinstance(value, (str, os.PathLike)) and not os.path.lexists(value):
            raise MelodyError(f"{option(keyword)} {value}: no such file")
    if score is not None:
        _expect_path(score, "score")
        return sources.from_score(score, track=track, tempo=tempo)
    if midi is not None:
        _expect_path(midi, "midi")
        return sources.from_midi(midi, track=track, channel=channel, tempo=tempo)
    if notes is not None:
        if isinstance(notes, (str, os.PathLike)):
            return sources.from_note_list(notes, bpm=bpm, tempo=tempo)
        if isinstance(notes, (bytes, dict)) or not hasattr(notes, "__iter__"):
            raise MelodyError(f"{option('notes')}: expected a note-list path or a list of Note, got {type(notes).__name__}")
        notes = list(notes)
        if not all(isinstance(x, Note) for x in notes):
            raise MelodyError(f"{option('notes')}: expected a note-list path or a list of alignsts.melody.notes.Note")
        return sources.from_notes(notes, tempo=tempo)
    if f0 is not None:
        if isinstance(f0, (str, os.PathLike)):
            return sources.from_f0_file(f0)
        from .melody.notes import check_f0_array

        return sources.from_f0(check_f0_array(f0, "f0"))
    where = f"melody {melody_from}" if isinstance(melody_from, (str, os.PathLike)) else "melody"
    if isinstance(melody_from, tuple) or isinstance(melody_from, (str, os.PathLike)):
        return sources.from_recording(load_input(melody_from, "melody_from"), where=where, contour=not notes_only)
    raise MelodyError(f"{option('melody_from')}: expected a file path or a (waveform, sample_rate) pair, "
                      f"got {type(melody_from).__name__}")


def convert(speech: AudioInput, sr: int | None = None, *, reference: AudioInput | None = None,
            melody: Melody | None = None, midi=None, notes=None, f0=None,
            melody_from: AudioInput | None = None, score=None, lyrics: str | None = None,
            track: int | None = None, channel: int | None = None,
            tempo: float = 1.0, bpm: float | None = None, notes_only: bool = False, engine: str | None = None,
            transpose: str | float = "auto", formant: float | None = None, lead_in: float | None = None,
            accompaniment: AudioInput | None = None, loudness: float | str | None = "auto",
            config=None, progress: Progress | None = None, range: str | None = None,
            voice: str | None = None, song: AudioInput | None = None,
            separator: str = "classic") -> Result:
    """Sing ``speech`` to a melody.

    ``speech`` is a path, a (waveform, sr) pair, or a waveform with ``sr`` given. The melody is
    either a sung ``reference`` of the same words (reference engine: its melody, rhythm and
    loudness are followed) or, for the score engine, a ``melody`` value or one source as in
    load_melody (``score`` a score with words, ``lyrics`` words for one without; with words
    the score says which syllable goes on which note, otherwise the engine decides).
    The score engine's output is on the score's timeline (output time t = score time t);
    ``lead_in`` seconds shift it all later. ``loudness``: the output's integrated loudness in
    LUFS, sample peak at most -1 dBFS; 'auto' (default): a sung reference's own integrated
    loudness (the reference and neural engines with a reference; the frame contour already
    follows it), else ``accompaniment`` + 3 LU, else -16 LUFS; None or 'off' keeps the engine's
    level. ``accompaniment``: a backing track (path or (wav, sr)) that starts at score time
    0; Result.mix is then the vocal over it (see audio.level.mix). Returns
    Result(wav [N] at 24 kHz, sr, analysis, mix). ``engine="neural"`` runs AlignSTS on the
    melody's F0 (or the reference's) and needs ``config=engines.neural.NeuralConfig(checkpoint=...)``.
    ``transpose``: 'auto' (whole octaves chosen from your speech and the melody's voice),
    'fit' (the semitone shift that best fits your singing range) or semitones; what was chosen
    and why is ``analysis.key`` (melody.key.KeyDecision). ``formant``: factor for the output's
    formants (0.8-1.25; 1 = your own voice colour; None = the config's value, default 1).
    A transpose other than 'auto', and any formant, win over the config's values.
    ``range`` ('A2-E4', see `alignsts range`) or ``voice`` (bass, baritone, tenor, alto, mezzo,
    soprano): where you sing; 'auto' and 'fit' then put the melody inside it (analysis.key.user_range).
    ``song``: a whole song (path, (wav, sr), or the stems separate_song made of it) instead of a reference: its lead vocal is
    separated (``separator``: 'classic', no weights; or 'demucs', 'demucs:NAME' or a path to demucs
    model files on disk, see models.separator) and sung with your voice; the output is on
    the song's timeline, as long as the song; Result.mix is your vocal over its instrumental and
    Result.stems the separated stems (see song_reference).
    """
    if song is not None:
        if reference is not None or accompaniment is not None:
            raise AlignSTSError(f"{option('song')} brings its own vocal and instrumental: give it without "
                                f"{option('reference')} or {option('accompaniment')}")
        if melody is not None or any(v is not None for v in (midi, notes, f0, melody_from, score, lyrics)):
            raise AlignSTSError(f"{option('song')} is the melody: give it without "
                                + option(*_SOURCES[1:], "lyrics"))
        check.transpose(transpose, option("transpose"), check.TRANSPOSE_WORDS)   # the values, then the speech,
        if formant is not None:                                           # before the separation's work
            world.check_formant(formant)
        loudness = _check_loudness(loudness)
        _sing_range(range, voice)
        paths = _input_paths(speech, song)
        speech_wav = load_input(speech if sr is None or isinstance(speech, tuple) else (speech, sr), "speech")
        threads = getattr(getattr(config, "pieces", None), "threads", 0)   # the engine's threads separate too
        reference, stems = song_reference(song, separator, progress, threads)
        result = convert((speech_wav, fe.SAMPLE_RATE), reference=reference, melody=melody, midi=midi, notes=notes, f0=f0,
                         melody_from=melody_from, score=score, lyrics=lyrics, engine=engine, transpose=transpose,
                         formant=formant, loudness="auto" if loudness == "auto" else loudness, config=config,
                         progress=progress, range=range, voice=voice)
        from .engines import cover

        result.wav = cover.fit_length(result.wav, stems.vocals.shape[0])
        result.mix, result.stems = cover.cover_mix(result.wav, stems), stems
        result.inputs = paths
        return result
    if formant is not None:
        formant = world.check_formant(formant)
    if sr is not None and not isinstance(speech, tuple):
        if isinstance(speech, (str, os.PathLike)):
            raise AudioInputError(f"{option('speech')}: sr is only for a waveform; a file carries its own sample rate")
        speech = (speech, sr)
    has_score = melody is not None or any(v is not None for v in (midi, notes, f0, melody_from, score))
    if reference is not None and has_score:
        raise AlignSTSError(f"give either {option('reference')} (a sung recording) or a melody ("
                            + option(*_SOURCES[1:]) + "), not both")
    if melody is not None and not isinstance(melody, Melody):
        raise MelodyError(f"{option('melody')} must be an alignsts Melody (see load_melody), got {type(melody).__name__}")
    engine = choose_engine(engine, reference)
    transpose = check.transpose(transpose, option("transpose"), check.TRANSPOSE_WORDS)
    if progress is not None and not callable(progress):
        raise InvalidValueError(f"progress must be a function (stage, fraction) or None, got {check.describe(progress)}")
    _check_source_kwargs(track, channel, tempo, bpm, notes_only)
    inputs = _input_paths(speech, reference, midi, notes, f0, melody_from, score, accompaniment,
                          *_lyrics_file(lyrics))
    if engine == "reference" and reference is None:
        raise AlignSTSError(f"the reference engine needs {option('reference')} (a sung recording of the same words)")
    if engine == "score" and reference is not None:
        raise AlignSTSError("the score engine sings to a melody (" + option(*_SOURCES[1:])
                            + f"); {option('reference')} (a sung recording) goes to the reference or neural engine")
    if engine in ("score", "neural") and not has_score and reference is None:
        raise AlignSTSError(f"no melody given: use {option('reference')} (a sung recording), or "
                            + option(*_SOURCES[1:]))
    if lyrics is not None and reference is not None:
        raise AlignSTSError(f"{option('lyrics')} go on the notes of a melody ({option('midi', 'notes', 'score')}, "
                            f"...); {option('reference')} (a sung recording) already carries its words")
    if lead_in is not None:
        lead_in = check.number(lead_in, f"{option('lead_in')} (seconds)", 0.0, 60.0)
    loudness = _check_loudness(loudness)
    sing_range = _sing_range(range, voice)
    s = load_input(speech, "speech")
    backing = None
    if isinstance(accompaniment, (str, os.PathLike)):   # checked now, read after the work (memory)
        io.check_channels_file(accompaniment, name=f"{option('accompaniment')} {accompaniment}")
    elif accompaniment is not None:
        backing = _load_accompaniment(accompaniment)
    source_kw = dict(midi=midi, notes=notes, f0=f0, melody_from=melody_from, score=score, lyrics=lyrics,
                     track=track, channel=channel, tempo=tempo, bpm=bpm, notes_only=notes_only)
    shift = 0.0
    if engine == "neural":
        result = _convert_neural(s, reference, melody, source_kw, transpose, formant, config, progress, sing_range)
        result.inputs = inputs
    elif engine == "reference":
        r = load_input(reference, "reference")
        if loudness == "auto":   # the reference's level, measured before the engine runs
            loudness = level.reference_target(r, fe.SAMPLE_RATE)
        cfg = _engine_config(config, ref_engine.ReferenceConfig, transpose, formant, sing_range)
        wav, analysis = ref_engine.convert(s, r, cfg, progress=progress, reference_f0=_reference_f0(reference))
        result = Result(wav=wav, sr=fe.SAMPLE_RATE, analysis=analysis, inputs=inputs)
    else:
        if melody is None:
            melody = load_melody(**source_kw)
        elif lyrics is not None:
            melody = with_lyrics(melody, lyrics)
        cfg = _engine_config(config, score_engine.ScoreConfig, transpose, formant, sing_range)
        if lead_in is not None:
            cfg.lead_in_s = float(lead_in)
        if not isinstance(cfg.transpose, str):   # a fixed shift is checked against the melody before any work
            from .melody.contour import check_sung_range

            check_sung_range(melody.f0, float(cfg.transpose))
        wav, analysis = score_engine.convert(s, melody, cfg, progress=progress)
        shift = analysis.lead_in
        result = Result(wav=wav, sr=fe.SAMPLE_RATE, analysis=analysis, inputs=inputs)
    if accompaniment is not None and backing is None:
        s = r = None   # the inputs are done with: their memory goes to the backing track and the mix
        backing = _load_accompaniment(accompaniment)
    if loudness == "auto":
        loudness = _auto_level(reference, backing, result.sr)
    if loudness is not None:
        result.wav, _ = level.normalize(result.wav, result.sr, target_lufs=loudness)
    if backing is not None:   # the backing starts at score time 0, after the lead-in
        result.mix = level.mix(result.wav, backing, result.sr, backing_delay=int(round(shift * result.sr)),
                               in_place=True)   # the backing array is ours (read or resampled here)
    return result


def _sing_range(range_, voice) -> str | None:
    """The user's range from ``range=`` ('A2-E4') or ``voice=`` (a voice type), checked: -> the
    config's sing_range value, or None."""
    from .melody import key

    if range_ is not None and voice is not None:
        raise InvalidValueError(f"give {option('range')} or {option('voice')}, not both")
    if voice is not None and (not isinstance(voice, str) or voice.strip().lower() not in key.VOICE_RANGES):
        raise InvalidValueError(f"{option('voice')} must be one of {', '.join(key.VOICE_RANGES)}, got {check.describe(voice)}")
    return key.range_setting(range_ if range_ is not None else voice, option("range" if voice is None else "voice"))


def _check_loudness(loudness) -> float | str | None:
    """'auto', None ('off') or LUFS in -70..0; anything else is an InvalidValueError."""
    if isinstance(loudness, str) and loudness.strip().lower() in level.LEVEL_WORDS:
        return None if loudness.strip().lower() == "off" else "auto"
    if loudness is None:
        return None
    return check.number(loudness, f"{option('loudness')} (LUFS, 'auto' or 'off')", -70.0, 0.0)


def _auto_level(reference, backing: np.ndarray | None, sr: int) -> float:
    """The 'auto' loudness target (LUFS): the sung reference's, else backing + 3 LU, else -16."""
    if reference is not None:
        return level.reference_target(load_input(reference, "reference"), sr)
    if backing is not None:
        return level.backing_target(backing, sr)
    return level.TARGET_LUFS


def separate_song(song: AudioInput, separator: str = "classic", progress: Progress | None = None,
                  threads: int = 0):
    """A song (path or (wav, sr)) -> its engines.cover.SongStems at 24 kHz (``separator`` as in
    convert). Give the result as ``convert(song=stems)`` to sing several speeches to one song
    with one separation (a manifest batch does so for rows that share a song file). ``threads``:
    the classic separator's (0: the cores, up to lanes.MAX_AUTO_THREADS)."""
    from .engines import cover

    separator = cover.check_separator(separator)
    threads = check.integer(threads, option("threads"), 0, 64)
    mix = _load_accompaniment(song, "song")
    return cover.separate_song(mix, fe.SAMPLE_RATE, separator, progress=progress, threads=threads)


def song_reference(song, separator: str = "classic", progress: Progress | None = None, threads: int = 0):
    """A song (path, (wav, sr), or the SongStems of separate_song) -> (its separated vocal as a
    reference (24 kHz, with the separator's F0 of it: _SongVocal), engines.cover.SongStems)."""
    from .engines import cover

    if isinstance(song, cover.SongStems):
        stems = song
        if stems.sr != fe.SAMPLE_RATE or stems.vocals.ndim != 2 or stems.vocals.shape != stems.instrumental.shape:
            raise InvalidValueError(f"{option('song')}: separated stems must be [samples, channels] at "
                                    f"{fe.SAMPLE_RATE} Hz, as separate_song gives them")
        f0 = np.asarray(stems.f0)
        if not (isinstance(stems.hop, (int, np.integer)) and not isinstance(stems.hop, bool) and stems.hop > 0
                and f0.ndim == 1 and f0.dtype.kind in "iuf"
                and np.all(np.isfinite(f0)) and np.all(f0 >= 0)):
            raise InvalidValueError(f"{option('song')}: the stems' f0 must be [frames] Hz (0 = no vocal) at "
                                    f"hop > 0 samples, as separate_song gives it")
    else:
        stems = separate_song(song, separator, progress, threads)
    vocal = stems.vocals.mean(axis=1)
    return _SongVocal(vocal, stems.vocal_f0(fe.n_frames(len(vocal)), fe.HOP)), stems


def _load_accompaniment(accompaniment: AudioInput, name: str = "accompaniment") -> np.ndarray:
    """A backing track (path or (wav, sr)) at 24 kHz with its channels: -> [N, C]. ``name``: its API keyword."""
    label = option(name)
    if isinstance(accompaniment, (str, os.PathLike)):
        return io.load_channels(accompaniment, fe.SAMPLE_RATE, name=f"{option(name)} {accompaniment}")
    if isinstance(accompaniment, tuple) and len(accompaniment) == 2:
        wav, sr = accompaniment
        try:
            wav = np.asarray(wav, dtype=np.float32)
        except (TypeError, ValueError):
            raise AudioInputError(f"{label}: not an array of samples") from None
        wav = wav[:, None] if wav.ndim == 1 else wav
        if wav.ndim != 2 or not 1 <= wav.shape[1] <= io.MAX_CHANNELS:
            raise AudioInputError(f"{label}: expected [samples] or [samples, channels] with at most "
                                  f"{io.MAX_CHANNELS} channels, got shape {list(wav.shape)}")
        io.check_audio(wav.mean(axis=1), sr, label)
        return np.stack([io.resample(wav[:, c], int(sr), fe.SAMPLE_RATE) for c in range(wav.shape[1])], axis=1)
    raise AudioInputError(f"{label}: expected a file path or a (waveform, sample_rate) pair, "
                          f"got {type(accompaniment).__name__}")


def _expect_path(value, name: str) -> None:
    if not isinstance(value, (str, os.PathLike)):
        raise MelodyError(f"{option(name)}: expected a file path, got {type(value).__name__}")


def _convert_neural(speech, reference, melody, sources_kw, transpose, formant, config, progress,
                    sing_range=None) -> Result:
    """The neural engine on a target F0: the reference's sung F0, or the melody's."""
    from .engines import neural
    from .melody.expression import expressive_f0

    if not isinstance(config, neural.NeuralConfig):
        raise AlignSTSError("the neural engine needs a NeuralConfig (checkpoint, vocoder, content model); "
                            f"{option('checkpoint')}, {option('vocoder')}, {option('content_model')}")
    cfg = _override(copy.deepcopy(config), transpose, formant, sing_range)   # never the caller's object
    if reference is not None:
        voice = load_input(reference, "reference")   # its voice is a key cue
        target = ref_engine.target_melody(voice, ref_engine.ReferenceConfig(), known=_reference_f0(reference))
    else:
        if melody is None:
            melody = load_melody(**sources_kw)
        voice = melody.voice
        if melody.has_expression:
            target = np.asarray(melody.f0, dtype=np.float64)
        else:
            n = fe.n_frames(int(round(max(x.offset for x in melody.notes) * fe.SAMPLE_RATE)))
            target = expressive_f0(melody.notes, n)
    wav, analysis = neural.convert(speech, target, cfg, progress=progress, melody_voice=voice)
    return Result(wav=wav, sr=fe.SAMPLE_RATE, analysis=analysis)


def _engine_config(config, cls, transpose, formant=None, sing_range=None):
    """A copy of ``config`` (or the defaults) of the engine's type; an explicit transpose or
    formant wins."""
    if config is None:
        cfg = cls()
    elif isinstance(config, cls):
        cfg = copy.deepcopy(config)   # checking canonicalises values: never on the caller's object
    else:
        raise AlignSTSError(f"config is a {type(config).__name__}, the {cls.__name__.replace('Config', '').lower()} "
                            f"engine needs a {cls.__name__}")
    return _override(cfg, transpose, formant, sing_range)


def _override(cfg, transpose, formant, sing_range=None):
    """``cfg`` with an explicit transpose (not 'auto') and formant set over its own values,
    checked (and canonicalised) before any work."""
    if transpose != "auto":
        cfg.transpose = transpose
    if formant is not None:
        cfg.formant = formant
    if sing_range is not None:
        cfg.sing_range = sing_range
    return check.check_config(cfg, "config")


def save(result: Result, path: str | os.PathLike, sr: int | None = None,
         plot: str | os.PathLike | None = None) -> Path:
    """Write a Result's audio atomically (.wav/.flac/.ogg), optionally at another rate, and
    optionally its PNG figure (``plot``): both or neither are written.

    Refuses (OutputError) a path that is one of the files the result was made from."""
    if not isinstance(result, Result):
        raise InvalidValueError(f"save needs the Result of convert(), got {type(result).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"output path must be a file name, got {type(path).__name__}")
    for what, value in (("output path", path), ("plot path", plot)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise OutputError(f"{what} must be a file name, got {type(value).__name__}")
    check_outputs({"output": path}, plots={"plot": plot}, sr=sr, inputs={"input": list(result.inputs)})
    _check_samples(result.wav, "result")
    write_plot = None
    if plot is not None:
        from .plot import plot_conversion

        def write_plot():   # inside the audio's atomic write: a failed plot leaves no audio
            plot_conversion(result, plot)
    return io.write_audio(path, result.wav, result.sr, out_sr=sr, before_commit=write_plot)


def _check_samples(wav, what: str) -> None:
    """A result worth writing: some samples, all finite numbers (InvalidValueError otherwise)."""
    wav = np.asarray(wav)
    if wav.size == 0:
        raise InvalidValueError(f"the {what} has no samples; nothing to write")
    if not np.issubdtype(wav.dtype, np.number):
        raise InvalidValueError(f"the {what}'s samples are not numbers ({wav.dtype})")
    bad = int(np.count_nonzero(~np.isfinite(wav)))
    if bad:
        raise InvalidValueError(f"the {what} has {bad} NaN/inf samples of {wav.size}; not writing it")


def check_outputs(audio: dict[str, Any], plots: dict[str, Any] | None = None, sr: int | None = None,
                  inputs: dict[str, Any] | None = None, others: dict[str, Any] | None = None) -> None:
    """Everything about the outputs that can fail, checked before any work: raises OutputError.

    ``audio``/``plots``/``others`` (any other file, e.g. the analysis JSON): {role: path}
    (None = not written); ``inputs``: {role: path(s)} that no output may be or replace;
    ``sr``: the output rate (None: the engine's 24 kHz), checked against what each file
    format can hold.
    """
    from . import paths

    plots = plots or {}
    for role, p in {**audio, **plots}.items():
        if p is not None and not isinstance(p, (str, os.PathLike)):
            raise OutputError(f"{role} must be a file name, got {type(p).__name__}")
    others = {role: p for role, p in (others or {}).items() if p is not None}
    for role, p in others.items():
        io.check_output_file(Path(p), role)
    for role, p in audio.items():
        if p is not None:
            io.check_output_path(p, fe.SAMPLE_RATE if sr is None else sr)
    for role, p in plots.items():
        if p is None:
            continue
        if Path(p).suffix.lower() != ".png":
            raise OutputError(f"{p}: the plot is written as PNG; give a .png path")
        io.check_output_file(Path(p), role)
    paths.check_outputs({**audio, **plots, **others}, inputs or {})


def mix_path(output: str | os.PathLike) -> Path:
    """Where the mix of an output goes: ``<output stem>_mix.wav`` beside it."""
    p = Path(output)
    return p.with_name(f"{p.stem}_mix.wav")


def save_mix(result: Result, path: str | os.PathLike, sr: int | None = None) -> Path:
    """Write a Result's mix (vocal over the accompaniment) atomically as WAV."""
    if not isinstance(result, Result) or result.mix is None:
        raise InvalidValueError("this result has no mix (convert with accompaniment=...)")
    check_outputs({"mix": path}, sr=sr, inputs={"input": list(result.inputs)})
    _check_samples(result.mix, "mix")
    mix = result.mix
    if sr and sr != result.sr:
        mix = np.stack([io.resample(mix[:, c], result.sr, sr) for c in range(mix.shape[1])], axis=1)
        mix = np.clip(mix, -1.0, 1.0)
    return io.write_audio(path, mix, sr or result.sr)


def save_stems(result: Result, vocals: str | os.PathLike, instrumental: str | os.PathLike,
               sr: int | None = None) -> tuple[Path, Path]:
    """Write a song's separated stems (convert(song=...)) atomically: -> (vocals path, instrumental path)."""
    if not isinstance(result, Result) or result.stems is None:
        raise InvalidValueError("this result has no stems (convert with song=...)")
    check_outputs({"vocals stem": vocals, "instrumental stem": instrumental}, sr=sr,
                  inputs={"input": list(result.inputs)})
    st = result.stems
    return (io.write_audio(vocals, st.vocals, st.sr, out_sr=sr),
            io.write_audio(instrumental, st.instrumental, st.sr, out_sr=sr))


def analysis_dict(result: Result) -> dict:
    """What was sung where (score engine): {"notes": [{"onset", "offset" (s, output time),
    "pitch" (MIDI number as sung, i.e. transposed; None for a rest), "lyric" (the syllable(s)
    starting on the note, None for rests, melisma continuations and notes without words),
    "speech": [start, end] (s) of the input speech sung on that note, or None}], "transpose"
    (semitones), "lead_in" (s), "key": {"mode" (auto, fit, manual), "reason", "same_speaker_score"
    (None for a melody without a voice), "user_range" (the range given, e.g. 'A2-E4', or None), "cues" (which
    cues ran and their values: melody.key.VoiceCues.report)}}. Rests between notes are entries of their own."""
    an = getattr(result, "analysis", None)
    if not isinstance(an, score_engine.ScoreAnalysis):
        raise InvalidValueError("the analysis (what was sung on which note) is written for the score engine only")
    spans = score_engine.note_speech_spans(an)
    rows, t = [], 0.0
    for x, span in zip(an.notes, spans):
        if x.onset > t + 1e-6:
            rows.append({"onset": round(t, 4), "offset": round(x.onset, 4), "pitch": None, "lyric": None,
                         "speech": None})
        rows.append({"onset": round(x.onset, 4), "offset": round(x.offset, 4), "pitch": round(float(x.pitch), 3),
                     "lyric": None if x.melisma else x.lyric,
                     "speech": None if span is None else [round(span[0], 4), round(span[1], 4)]})
        t = max(t, x.offset)
    key = None if an.key is None else {"mode": an.key.mode, "reason": an.key.reason,
                                       "same_speaker_score": an.key.same_speaker_score,
                                       "user_range": an.key.user_range, "cues": an.key.cues.report()}
    return {"notes": rows, "transpose": float(an.transpose), "lead_in": float(an.lead_in), "key": key}


def save_analysis(result: Result, path: str | os.PathLike) -> Path:
    """Write analysis_dict(result) as JSON, atomically."""
    import json

    if not isinstance(path, (str, os.PathLike)):
        raise OutputError(f"analysis path must be a file name, got {type(path).__name__}")
    p = Path(path)
    if p.suffix.lower() != ".json":
        raise OutputError(f"{p}: the analysis is written as JSON; give a .json path")
    inputs = list(result.inputs) if isinstance(result, Result) else []
    check_outputs({}, others={"analysis": p}, inputs={"input": inputs})
    data = json.dumps(analysis_dict(result), indent=1, ensure_ascii=False)
    with io.atomic_path(p) as tmp:
        tmp.write_text(data + "\n", encoding="utf-8")
    return p


def engine_options(cfg, engine: str, *, expression: bool | None = None, vibrato_depth: float | None = None,
                   vibrato_rate: float | None = None, checkpoint: str | None = None, vocoder: str | None = None,
                   content_model: str | None = None, trust_checkpoint: bool = False, speaker: str = "resemblyzer",
                   seed: int = 0, device: str = "auto", threads: int | None = None):
    """``cfg`` (from engine_config) with the options a user sets on top: expression and vibrato
    (score engine), checkpoint ... device (neural engine), threads (training-free engines: their
    ``pieces.threads``, 0 = the cores); the others' options are ignored."""
    if threads is not None and engine in ("reference", "score"):
        cfg.pieces.threads = check.integer(threads, option("threads"), 0, 64)
    if engine == "neural":
        for key, value in (("checkpoint", checkpoint), ("vocoder", vocoder), ("content_model", content_model)):
            if value:
                setattr(cfg, key, str(value))
        cfg.trust_checkpoint = bool(trust_checkpoint)   # never from the YAML (see NeuralConfig)
        cfg.speaker = check.text(speaker, option("speaker"), ("resemblyzer", "none"))
        cfg.seed = check.integer(seed, option("seed"), 0, 2**32 - 1)
        cfg.device = check.device(device, option("device"))
    elif engine == "score":
        if expression is not None:
            cfg.expression.expression = check.boolean(expression, option("expression"))
        if vibrato_depth is not None:
            cfg.expression.vibrato_depth = check.number(vibrato_depth, f"{option('vibrato_depth')} (cents)",
                                                        *check.VIBRATO_DEPTH_RANGE)
        if vibrato_rate is not None:
            cfg.expression.vibrato_rate = check.number(vibrato_rate, f"{option('vibrato_rate')} (Hz)", *check.VIBRATO_RATE_RANGE)
    return cfg


def notes_from_text(text: str, bpm: float | None = None, where: str = "note list") -> list:
    """A typed note list ('C4 0.5' per line, as in a --notes file) -> [Note], for ``convert(notes=...)``."""
    from .melody.notes import parse_note_list

    return parse_note_list(text, bpm=bpm, where=where)


def audio_seconds(path: str | os.PathLike, name: str | None = None) -> float:
    """Duration of an audio file from its header (nothing decoded); AudioInputError if unreadable."""
    import soundfile as sf

    from .errors import AudioInputError

    who = name or str(path)
    try:
        info = sf.info(str(path))
    except Exception:   # M4A, Opus, a video's audio ...: the container's header (PyAV)
        from .audio.decode import duration_seconds

        return duration_seconds(path, who)
    return float(info.frames) / info.samplerate if info.samplerate else 0.0


def demo_files() -> tuple[Path, Path, Path]:
    """Paths of the bundled example: (speech.wav, sing.wav, twinkle.mid)."""
    base = resources.files("alignsts") / "assets" / "demo"
    return tuple(Path(str(base / name)) for name in ("speech.wav", "sing.wav", "twinkle.mid"))


def demo(out_dir: str | os.PathLike, plot: bool = True, progress: Progress | None = None) -> dict[str, Path]:
    """Convert the bundled example into ``out_dir`` with both engines; returns the files by role."""
    import shutil

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AlignSTSError(f"{out}: cannot create output folder ({e.strerror})") from None
    speech, sung, midi = demo_files()
    runs = {"reference engine": ("demo_sung", dict(reference=sung)),
            "score engine (MIDI)": ("demo_midi_sung", dict(midi=midi))}
    files = {}
    for role, (stem, source) in runs.items():
        result = convert(speech, progress=progress, **source)
        files[role] = save(result, out / f"{stem}.wav")
        if plot:
            from .plot import plot_conversion

            files[f"{role} plot"] = plot_conversion(result, out / f"{stem}.png")
    for role, src in (("speech", speech), ("reference", sung), ("midi", midi)):
        dst = out / f"demo_{role}{src.suffix}"
        with io.atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        files[role] = dst
    return files
