#!/usr/bin/env bash
# Regenerate the small speech files used by the tests (tests/assets/syllables/*.wav):
# plain English sentences of known syllable counts, listed in tests/assets/syllables/sentences.tsv
# (file <TAB> syllables <TAB> text), spoken by espeak-ng (default voice and rate).
# Post-processing with sox: leading/trailing silence trimmed and re-padded to 0.03 s,
# peak-normalised to -3 dBFS, resampled to 24 kHz mono 16-bit PCM (no dither: reproducible).
#
# Requirements (Debian/Ubuntu): apt-get install -y espeak-ng sox
# Usage: bash scripts/make_test_assets.sh
set -euo pipefail

SR=24000
PAD=0.03     # seconds of silence kept at each end
PEAK_DB=-3   # peak normalisation target (dBFS)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
OUT_DIR="${REPO_ROOT}/tests/assets/syllables"
LIST="${OUT_DIR}/sentences.tsv"

for tool in espeak-ng sox soxi; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: '$tool' not found (apt-get install -y espeak-ng sox)" >&2
    exit 1
  fi
done
[[ -f "$LIST" ]] || { echo "error: sentence list not found: $LIST" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

total=0
while IFS=$'\t' read -r file count text; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  espeak-ng -w "$TMP/raw.wav" "$text"
  if [[ ! -s "$TMP/raw.wav" ]] || ! soxi "$TMP/raw.wav" >/dev/null 2>&1; then
    echo "error: espeak-ng produced no usable audio for: $text" >&2
    exit 1
  fi
  # trim silence at both ends (silence / reverse / silence / reverse), pad, normalise, resample
  sox -D "$TMP/raw.wav" -c 1 -b 16 -e signed-integer "$OUT_DIR/$file" \
    silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse \
    pad "$PAD" "$PAD" \
    norm "$PEAK_DB" \
    rate -v "$SR"
  size=$(stat -c %s "$OUT_DIR/$file")
  total=$((total + size))
  printf '%-12s %2s syllables  %.2f s  %6s bytes  %s\n' "$file" "$count" "$(soxi -D "$OUT_DIR/$file")" "$size" "$text"
done < "$LIST"
echo "total: $total bytes"
