"""Make the course's English text corpus for word2vec (notebook 02): data/text/corpus.txt.xz.

    python scripts/make_corpus.py          # on Debian / Ubuntu: fetches three packages with apt-get download

Two public texts, one line per verse / definition:

1. The King James Bible (1611/1769; public domain), from Debian's `bible-kjv-text` (its compressed
   database) dumped with the `bible` program of `bible-kjv`: every verse of Genesis 1:1 to Revelation
   22:21, verse numbers and chapter headings removed, wrapped lines joined.
2. Princeton WordNet 3.0's definitions (WordNet licence: use, copy and distribute with the copyright
   notice), from Debian's `wordnet-base`: for every synset of data.noun / verb / adj / adv, its lemmas
   and its gloss with the usage examples, e.g. "physical entity: an entity that has physical existence".
   Definitions put a word next to words of similar meaning — good company for a distributional model.

The packages are only unpacked into a temporary folder (dpkg-deb -x), never installed. The course reads
the shipped file; it never needs this script.
"""
import argparse
import lzma
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["bible-kjv", "bible-kjv-text", "wordnet-base"]
VERSE = re.compile(r"^\s+\d+ ")


def unpack(folder: Path) -> Path:
    """apt-get download the packages into folder and unpack them there; returns the unpacked root."""
    subprocess.run(["apt-get", "download", *PACKAGES], cwd=folder, check=True)
    root = folder / "root"
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def bible_verses(root: Path) -> list[str]:
    """Every verse of the KJV as one line of text."""
    dump = subprocess.run([str(root / "usr/bin/bible"), "-p", str(root / "usr/lib"), "gen1:1-rev22:21"],
                          check=True, capture_output=True, text=True).stdout
    verses, current, previous = [], None, ""
    for line in dump.splitlines():
        if VERSE.match(line):                       # "  12 And God said ..." starts a verse
            if current:
                verses.append(current)
            current = VERSE.sub("", line).strip()
        elif line.strip() and previous.strip():     # a wrapped line continues the verse
            current += " " + line.strip()
        # else: a blank line, or a chapter heading ("Genesis 1"), which always follows a blank line
        previous = line
    if current:
        verses.append(current)
    return verses


def wordnet_definitions(root: Path) -> list[str]:
    """'lemma, lemma: gloss; "example"' for every WordNet synset."""
    lines = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in (root / f"usr/share/wordnet/data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or " | " not in line:   # the licence header
                continue
            fields, gloss = line.split(" | ", 1)
            parts = fields.split()
            n_words = int(parts[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", parts[4 + 2 * k]).replace("_", " ") for k in range(n_words)]
            lines.append(f"{', '.join(dict.fromkeys(lemmas))}: {gloss.strip()}")
    return lines


def wordnet_licence(root: Path) -> str:
    """The licence header of WordNet's data files, verbatim: it must travel with every copy."""
    lines = []
    for line in (root / "usr/share/wordnet/data.noun").read_text(encoding="latin-1").splitlines():
        if not line.startswith("  "):
            break
        lines.append(re.sub(r"^\s+\d+ ?", "", line).rstrip())
    return "\n".join(lines).strip() + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=ROOT / "data" / "text" / "corpus.txt.xz", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(Path(tmp))
        verses, definitions = bible_verses(root), wordnet_definitions(root)
        licence = wordnet_licence(root)
    if len(verses) != 31_102:
        sys.exit(f"expected the 31,102 verses of the KJV, got {len(verses)}")
    text = "\n".join(verses + definitions) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".partial")
    tmp.write_bytes(lzma.compress(text.encode("utf-8"), preset=9))
    tmp.replace(args.out)
    (args.out.parent / "LICENSE-WordNet.txt").write_text(
        "The WordNet definitions in corpus.txt.xz come from WordNet 3.0 under this licence:\n\n" + licence)
    words = len(re.findall(r"[a-z]+", text.lower()))
    print(f"{args.out}: {len(verses):,} verses + {len(definitions):,} definitions, {words:,} words, "
          f"{args.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
