#!/usr/bin/env python
"""Does the key decision generalise to voices it was not built on? Octave right, many speakers.

    python benchmarks/key_generalise.py [--pairs-dir DIR] [--cache DIR] [--max-cross N]

The enlarged labelled set: every real pair (../shared/data/sts-pairs) is one *person* (speech
and singing). Each person is transformed whole (the speech AND the singing with the same
setting) into new people:

- ``orig``: as recorded;
- ``W+3`` / ``W-3``: WORLD, F0 x2^(+-3/12), formants x1.04 / x0.96 (a slightly higher / lower voice);
- ``P+5`` / ``P-5``: Praat PSOLA "Change gender", pitch median x2^(+-5/12), formants x1.06 / x0.94;
- ``Wreg`` / ``Preg``: the other register: a low speaker (speaking median < 165 Hz) made high
  (WORLD: F0 x2, formants x1.18; PSOLA: pitch x2^(10/12), formants x1.15), a high one made low
  (WORLD: F0 /2, formants x0.85; PSOLA: pitch x2^(-10/12), formants x0.87).

7 people x 7 settings = 49 speakers. Every speaker's speech is then given every speaker's
singing as the melody (the cues of ``melody.key.voice_cues`` and the decision of ``key.decide``
in 'auto', exactly as the reference engine computes them on its inputs):

- own singing (the speaker's own sung recording): right when the melody is kept;
- cross-singer (another speaker's singing): right when the octave chosen puts that melody's
  median nearest (of all octaves) to where the speaker really sang (their own sung median);
  "clear" cases are those where that nearest octave is within 4 st, i.e. not a half-octave tie.

Cases: own singing; the same song sung by another speaker made from the same person, either of
the other register (``Wreg``/``Preg`` against the rest: the cross-singer case of
benchmarks/cross_singer.py) or of the same register; and other songs (another person's singing:
what ``--melody-from`` gives). Leave-one-person-out: the only values of key.py taken from the
persons' singing (SUNG_CENTRE_ST, SUNG_SPREAD_ST: the mean and sd of where they sing relative to
their speech) are recomputed from the six other persons, and the held-out person's speech is
scored ("LOPO"); "worst person" is the lowest octave-right % of any one person's speech.

Every decision is made twice: with the Resemblyzer cosine (the [neural] install) and without
it (the base install, ``speaker_embedding: none``). Features are cached in --cache (default
/tmp/alignsts_key_generalise); the decision is re-run from the cached cues in seconds.
Exit code: 0, or 2 when the pairs folder does not exist.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_pairs import DEFAULT_PAIRS, pairs_or_none  # noqa: E402

LOW_HZ = 165.0
SETTINGS = ("orig", "W+3", "W-3", "P+5", "P-5", "Wreg", "Preg")


def _world_transform(wav: np.ndarray, f0_factor: float, formant: float) -> np.ndarray:
    from alignsts.audio import frontend as fe
    from alignsts.audio import world

    f = world.analyze(wav, f0=fe.fit_length(fe.f0_world(wav, method="harvest"), fe.n_frames(len(wav))))
    return world.synthesize(world.WorldFeatures(f.f0 * f0_factor, world.warp_formants(f.sp, formant), f.ap),
                            n_samples=len(wav)).astype(np.float32)


def _psola_transform(wav: np.ndarray, f0_factor: float, formant: float) -> np.ndarray:
    """Praat "Change gender": formants x ``formant``, pitch median x ``f0_factor``, range kept."""
    import parselmouth
    from parselmouth.praat import call

    from alignsts.audio import frontend as fe

    snd = parselmouth.Sound(np.asarray(wav, dtype=np.float64), sampling_frequency=fe.SAMPLE_RATE)
    pitch = snd.to_pitch(pitch_floor=60.0, pitch_ceiling=800.0)
    f = pitch.selected_array["frequency"]
    median = float(np.median(f[f > 0])) if np.any(f > 0) else 150.0
    out = call(snd, "Change gender", 60.0, 800.0, formant, median * f0_factor, 1.0, 1.0)
    y = np.asarray(out.values[0], dtype=np.float32)
    y = np.pad(y, (0, max(0, len(wav) - len(y))))[: len(wav)]
    peak = float(np.max(np.abs(y))) or 1.0
    return (y / peak * 0.8).astype(np.float32) if peak > 0.99 else y


def transform(wav: np.ndarray, setting: str, low: bool) -> np.ndarray:
    """One recording [N] of a person as the given SETTINGS entry: -> [N]."""
    if setting == "orig":
        return wav
    if setting in ("W+3", "W-3"):
        sign = 1 if setting == "W+3" else -1
        return _world_transform(wav, 2.0 ** (sign * 3 / 12), 1.04 if sign > 0 else 0.96)
    if setting in ("P+5", "P-5"):
        sign = 1 if setting == "P+5" else -1
        return _psola_transform(wav, 2.0 ** (sign * 5 / 12), 1.06 if sign > 0 else 0.94)
    if setting == "Wreg":
        return _world_transform(wav, 2.0, 1.18) if low else _world_transform(wav, 0.5, 0.85)
    if setting == "Preg":
        return _psola_transform(wav, 2.0 ** (10 / 12), 1.15) if low else _psola_transform(wav, 2.0 ** (-10 / 12), 0.87)
    raise ValueError(setting)


def build(pairs: list[Path], cache: Path) -> list[dict]:
    """The 49 speakers: speech / singing waveforms in cache, with their F0 medians and embeddings."""
    from alignsts.audio import frontend as fe
    from alignsts.audio import io
    from alignsts.audio import world
    from alignsts.melody import key

    cache.mkdir(parents=True, exist_ok=True)
    index = cache / "speakers.json"
    if index.is_file():
        return json.loads(index.read_text())
    speakers = []
    for p in pairs:
        speech, sing = io.load(p / "speech.wav", fe.SAMPLE_RATE), io.load(p / "sing.wav", fe.SAMPLE_RATE)
        s_f0 = world.analyze(speech).f0
        low = float(np.median(s_f0[s_f0 > 0])) < LOW_HZ
        for setting in SETTINGS:
            name = f"{p.name}/{setting}"
            t0 = time.perf_counter()
            sp, sg = transform(speech, setting, low), transform(sing, setting, low)
            np.save(cache / f"{p.name}_{setting}_speech.npy", sp)
            np.save(cache / f"{p.name}_{setting}_sing.npy", sg)
            sp_f0 = world.analyze(sp).f0
            sg_f0 = fe.f0_praat(sg)
            np.save(cache / f"{p.name}_{setting}_singf0.npy", sg_f0)
            rec = {"name": name, "person": p.name, "setting": setting,
                   "speech_st": key.median_semitones(sp_f0), "sing_st": key.median_semitones(sg_f0),
                   "speech_emb": _embedding(sp), "sing_emb": _embedding(sg)}
            speakers.append(rec)
            print(f"  {name}: speaking {key._hz(rec['speech_st']):.0f} Hz, singing "
                  f"{rec['sing_st'] - rec['speech_st']:+.1f} st above ({time.perf_counter() - t0:.1f} s)", flush=True)
    index.write_text(json.dumps(speakers))
    return speakers


def _embedding(wav: np.ndarray):
    """The Resemblyzer embedding exactly as key.embedding_cosine computes it (first 60 s), or None."""
    from alignsts.audio.content import RESEMBLYZER_SIZE, speaker_embedding
    from alignsts.melody import key

    if not key.embedding_available():
        return None
    try:
        e = np.asarray(speaker_embedding(wav[: int(key.EMBEDDING_SECONDS * 24000)], "resemblyzer",
                                         RESEMBLYZER_SIZE), dtype=np.float64)
    except Exception:   # no speech left after trimming
        return None
    return (e / (np.linalg.norm(e) + 1e-12)).tolist()


def cues_table(speakers: list[dict], cache: Path, max_cross: int | None) -> list[dict]:
    """Cues of every (speech speaker, singing speaker) combination, cached in --cache (one file per
    formant band)."""
    from alignsts.audio import world
    from alignsts.melody import key

    # named by the formant comparison that made them, so a cache of an older key.py is not reused
    lo, hi = key.FORMANT_BAND_HZ
    path = cache / f"cues_band{lo:.0f}-{hi:.0f}_from_pitch.json"
    done = {}
    if path.is_file():
        done = {(r["a"], r["b"]): r for r in json.loads(path.read_text())}
    rng = np.random.default_rng(0)
    combos = [(a, b) for a in speakers for b in speakers if a["person"] == b["person"]]
    other = [(a, b) for a in speakers for b in speakers if a["person"] != b["person"]]
    if max_cross is not None and max_cross < len(other):   # other songs: a sample
        pick = rng.choice(len(other), size=max_cross, replace=False)
        other = [other[i] for i in sorted(pick)]
    combos += other
    feats = {}
    t0, n_new = time.perf_counter(), 0
    for a, b in combos:
        if (a["name"], b["name"]) in done:
            continue
        stem_a, stem_b = a["name"].replace("/", "_"), b["name"].replace("/", "_")
        if a["name"] not in feats:
            feats.clear()
            sp = np.load(cache / f"{stem_a}_speech.npy")
            feats[a["name"]] = (sp, world.analyze(sp))
        speech, frames = feats[a["name"]]
        sing = np.load(cache / f"{stem_b}_sing.npy")
        sing_f0 = np.load(cache / f"{stem_b}_singf0.npy")
        c = key.voice_cues(speech, frames, sing_f0, melody_voice=sing, embedding="none")
        cos = None
        if a["speech_emb"] is not None and b["sing_emb"] is not None:
            cos = float(np.dot(a["speech_emb"], b["sing_emb"]))
        done[(a["name"], b["name"])] = {
            "a": a["name"], "b": b["name"], "register_st": c.register_st, "formant_ratio": c.formant_ratio,
            "envelope_match": c.envelope_match, "embedding_cosine": cos,
            "speech_st": key.median_semitones(frames.f0), "melody_st": key.median_semitones(sing_f0)}
        n_new += 1
        if n_new % 50 == 0:
            print(f"  cues {len(done)} ({time.perf_counter() - t0:.0f} s)", flush=True)
            path.write_text(json.dumps(list(done.values())))
    path.write_text(json.dumps(list(done.values())))
    wanted = {(a["name"], b["name"]) for a, b in combos}
    return [r for k, r in done.items() if k in wanted]


REGISTER_SETTINGS = ("Wreg", "Preg")


def kind_of(a: dict, b: dict) -> str:
    """own | register (the same song by a voice of the other register: the issue's cross-singer
    case) | same register (the same song by another voice of the same register) | other song."""
    if a["name"] == b["name"]:
        return "own singing"
    if a["person"] == b["person"]:
        flip = (a["setting"] in REGISTER_SETTINGS) != (b["setting"] in REGISTER_SETTINGS)
        return "same song, other register" if flip else "same song, same register"
    return "other song"


def evaluate(speakers: list[dict], rows: list[dict], embedding: bool, ranges: dict | None = None) -> list[dict]:
    """The decision of key._decide per row: adds 'kind', 'right', 'clear', 'transpose'.

    Right: own singing kept; otherwise the octave that puts the melody's median nearest (of all
    octaves, ties within 1 st) to where the speaker really sang. Clear: that nearest octave lies
    within 3 st (not a half-octave tie, which no decision from the speech could get right).
    ``ranges``: speaker name -> key.SingRange (the user's --range), or None."""
    from alignsts.melody import key

    by_name = {s["name"]: s for s in speakers}
    out = []
    for r in rows:
        a, b = by_name[r["a"]], by_name[r["b"]]
        cues = key.VoiceCues(register_st=r["register_st"], formant_ratio=r["formant_ratio"],
                             envelope_match=r["envelope_match"],
                             embedding_cosine=r["embedding_cosine"] if embedding else None)
        melody = np.array([key._hz(r["melody_st"])])
        if ranges is not None:   # the range needs the melody's spread: its real F0
            melody = np.load(ranges["_cache"] / f"{r['b'].replace('/', '_')}_singf0.npy")
            t = key._decide("auto", np.array([key._hz(r["speech_st"])]), melody, cues, ranges[r["a"]]).transpose
        else:
            t = key._decide("auto", np.array([key._hz(r["speech_st"])]), melody, cues).transpose
        kind = kind_of(a, b)
        if kind == "own singing":
            right, clear = t == 0, True
        else:
            diff = a["sing_st"] - r["melody_st"]          # where the speaker sang - the melody
            best = 12 * round(diff / 12)
            clear = abs(diff - best) <= 3.0
            right = abs(diff - t) <= abs(diff - best) + 1.0
        out.append({**r, "person": a["person"], "kind": kind, "right": bool(right), "clear": clear,
                    "transpose": t})
    return out


KINDS = ("own singing", "same song, other register", "same song, same register", "other song")


def table(results: list[dict]) -> list[tuple]:
    """(kind, n, % right, n clear, % right of clear, worst person % of clear)."""
    persons = sorted({r["person"] for r in results})

    def pct(sel):
        return 100.0 * sum(r["right"] for r in sel) / len(sel) if sel else float("nan")

    out = []
    for kind in KINDS + ("all cross-singer",):
        sel = [r for r in results if r["kind"] == kind or (kind == "all cross-singer" and r["kind"] != "own singing")]
        clear = [r for r in sel if r["clear"]]
        worst = min((pct([r for r in clear if r["person"] == p]) for p in persons
                     if any(r["person"] == p for r in clear)), default=float("nan"))
        out.append((kind, len(sel), pct(sel), len(clear), pct(clear), worst))
    return out


def leave_one_person_out(speakers: list[dict], rows: list[dict], embedding: bool) -> list[dict]:
    """The decision with key.SUNG_CENTRE_ST / SUNG_SPREAD_ST (the only values taken from the
    persons' singing) recomputed without the held-out person, scored on that person's speech."""
    from alignsts.melody import key

    if not hasattr(key, "SUNG_CENTRE_ST"):   # an older decision without these values
        return evaluate(speakers, rows, embedding)
    persons = sorted({s["person"] for s in speakers})
    offsets = {p: next(s["sing_st"] - s["speech_st"] for s in speakers if s["person"] == p and s["setting"] == "orig")
               for p in persons}
    saved = key.SUNG_CENTRE_ST, key.SUNG_SPREAD_ST
    out = []
    try:
        by_name = {s["name"]: s for s in speakers}
        for p in persons:
            rest = np.array([v for q, v in offsets.items() if q != p])
            key.SUNG_CENTRE_ST, key.SUNG_SPREAD_ST = float(rest.mean()), float(rest.std(ddof=1))
            out += evaluate(speakers, [r for r in rows if by_name[r["a"]]["person"] == p], embedding)
    finally:
        key.SUNG_CENTRE_ST, key.SUNG_SPREAD_ST = saved
    return out


def real_crossing(r: dict) -> bool:
    """A real person's speech with another real person's singing (both untransformed)."""
    return r["kind"] == "other song" and r["a"].endswith("/orig") and r["b"].endswith("/orig")


def miss_line(r: dict, speaker: dict, embedding: bool) -> str:
    """One wrong decision with its cues: speaking median, melody offset, where the speaker really
    sang (relative to that melody), formant ratio, same-speaker score, posterior per octave."""
    from alignsts.melody import key

    cues = key.VoiceCues(r["register_st"], r["formant_ratio"], r["envelope_match"],
                         r["embedding_cosine"] if embedding else None)
    hz = key._hz(r["speech_st"])
    score = key.same_speaker_score(cues, hz)
    post = key.octave_scores(cues, score, hz)
    cos = f"{cues.embedding_cosine:.2f}" if cues.embedding_cosine is not None else "-"
    return (f"  {r['kind']}: {r['a']} <- {r['b']}: speaks {hz:.0f} Hz, melody {r['register_st']:+.1f} st, "
            f"sang {speaker['sing_st'] - r['melody_st']:+.1f} st from it; formants x{r['formant_ratio']:.2f}, "
            f"cosine {cos}, same-speaker {score:.2f}; posterior "
            + " ".join(f"{-12 * k:+d}:{p:.2f}" for k, p in sorted(post.items()) if p >= 0.01)
            + f"; chose {r['transpose']:+g}")


def key_module():
    from alignsts.melody import key

    return key


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs-dir", type=Path, default=DEFAULT_PAIRS)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/alignsts_key_generalise"))
    ap.add_argument("--max-cross", type=int, default=None,
                    help="sample this many other-song cases (speech and singing of different persons)")
    ap.add_argument("--misses", action="store_true", help="list the wrong same-song decisions")
    args = ap.parse_args(argv)
    pairs = pairs_or_none(args.pairs_dir)
    if pairs is None:
        return 2
    print(f"# building {len(pairs) * len(SETTINGS)} speakers from {len(pairs)} persons", flush=True)
    speakers = build(pairs, args.cache)
    rows = cues_table(speakers, args.cache, args.max_cross)
    print()
    print(f"# Key decision ('auto') on {len(speakers)} speakers ({len(pairs)} real persons x {len(SETTINGS)} "
          f"transforms), {len(rows)} speech x singing cases")
    print()
    print("right: own singing kept / the octave nearest to where the speaker really sang; clear: that")
    print("octave within 3 st (no half-octave tie); worst person: the lowest % right (clear cases) over")
    print("the persons whose speech it is; LOPO: SUNG_CENTRE_ST/SPREAD from the other six persons only.")
    print()
    print("| install | case | n | octave right | n clear | right (clear) | worst person (clear) | LOPO right (clear) |")
    print("|---|---|---|---|---|---|---|---|")
    identity, misses = [], []
    for label, emb in (("with embedding ([neural])", True), ("without embedding (base)", False)):
        res = evaluate(speakers, rows, emb)
        lopo = {row[0]: row for row in table(leave_one_person_out(speakers, rows, emb))}
        for kind, n, p, nc, pc, worst in table(res):
            print(f"| {label} | {kind} | {n} | {p:.1f} % | {nc} | {pc:.1f} % | {worst:.1f} % | {lopo[kind][4]:.1f} % |")
        k = key_module()
        by_name = {sp["name"]: sp for sp in speakers}

        def judged_same(r):
            c = k.VoiceCues(r["register_st"], r["formant_ratio"], r["envelope_match"],
                            r["embedding_cosine"] if emb else None)
            return k.same_speaker_score(c, k._hz(r["speech_st"])) >= 0.5
        own = [judged_same(r) for r in rows if r["a"] == r["b"]]
        others = [judged_same(r) for r in rows if by_name[r["a"]]["person"] != by_name[r["b"]]["person"]]
        real = [r for r in res if real_crossing(r)]
        exact = [r for r in real if r["transpose"] == 12 * round((by_name[r["a"]]["sing_st"] - r["melody_st"]) / 12)]
        identity.append(f"{label}: real persons crossed (each speech with the other six real singings, as "
                        f"cross_singer.py --identity): octave exactly right {len(exact)}/{len(real)}, clear cases "
                        f"{sum(r['clear'] for r in exact)}/{sum(r['clear'] for r in real)}")
        identity.append(f"{label}: own singing judged 'your own voice' {sum(own)}/{len(own)}; another person's "
                        f"singing judged so {100.0 * sum(others) / max(len(others), 1):.1f} % of {len(others)}")
        if hasattr(key_module(), "measure_range"):
            ranges = {"_cache": args.cache}
            for sp in speakers:
                ranges[sp["name"]] = key_module().measure_range(
                    np.load(args.cache / f"{sp['name'].replace('/', '_')}_singf0.npy"))
            for kind, n, p, nc, pc, worst in table(evaluate(speakers, rows, emb, ranges)):
                if kind in ("own singing", "all cross-singer"):
                    print(f"| {label}, --range measured from the speaker's own singing | {kind} | {n} | {p:.1f} % | "
                          f"{nc} | {pc:.1f} % | {worst:.1f} % | - |")
        if args.misses:
            misses.append(f"misses, {label} (clear same-song cases, and the real persons crossed):")
            misses += [miss_line(r, by_name[r["a"]], emb) for r in res
                       if not r["right"] and r["clear"] and (r["kind"].startswith("same song") or real_crossing(r))]
    print()
    for line in identity:
        print(line)
    for line in misses:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
