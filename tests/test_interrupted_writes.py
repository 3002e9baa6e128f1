"""Writers of several files are all-or-nothing: a writer killed (SIGKILL, in a subprocess) while it stages
its files leaves the old set; one killed halfway through swapping them in is finished by the next reader.
Never a mix, and nothing left behind once the next run has looked."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from mmlearn import audio_datasets as ad
from mmlearn import backbone
from mmlearn import datasets as ds
from mmlearn.core import JOURNAL, STAGING, atomic_set, finish_interrupted_write

pytestmark = pytest.mark.skipif(os.name == "nt", reason="uses SIGKILL")

# Each writer writes version "A" or "B" of its set; `read` returns what a reader sees, tagged by version.
WRITERS = textwrap.dedent('''
    from pathlib import Path
    from types import SimpleNamespace

    import numpy as np
    import torch

    from mmlearn import audio_datasets as ad
    from mmlearn import backbone, core
    from mmlearn import datasets as ds

    def write(kind, root, version):
        root, level = Path(root), {"A": 10, "B": 200}[version]
        if kind == "coco":
            ds.write_coco_captions(root, "val2014", np.full((3, 8, 8, 3), level, np.uint8),
                                   [[f"caption {version} {i}"] for i in range(3)])
        elif kind == "vqa":
            questions = [[SimpleNamespace(text=f"is there a {version} {i}", type="exists", answer=version.lower())]
                         for i in range(3)]
            ds.write_vqa(root, "val2014", [level + i for i in range(3)], questions)
        elif kind == "esc50":
            ad.write_esc50(root, np.full((3, 800), level / 1000, np.float32), [0, 1, 0], ["dog", "rain"],
                           [1, 2, 3], sample_rate=8000)
        elif kind == "backbone":
            torch.manual_seed(level)
            core.save_checkpoint(backbone.WorldCNN(), root / "net.pt")
''')
_here: dict = {}
exec(WRITERS, _here)  # the same definitions in this process (the subprocess runs them as a script)
write = _here["write"]


def read(kind, root):
    root = Path(root)
    if kind == "coco":
        data = ds.read_coco_captions(root / "annotations" / "captions_val2014.json", root / "val2014")
        versions = {c[0].split()[1] for c in data.captions} | {{10: "A", 200: "B"}[int(v)] for v in
                                                                np.unique(data.load_images())}
    elif kind == "vqa":
        data = ds.read_vqa(root / "v2_OpenEnded_mscoco_val2014_questions.json", root / "v2_mscoco_val2014_annotations.json")
        versions = {q.split()[3] for q in data.questions} | {a[0].upper() for a in data.answers}
    elif kind == "esc50":
        waves = ad.read_esc50(root).load()
        versions = {{10: "A", 200: "B"}[int(round(float(w) * 1000))] for w in np.unique(waves.round(3))}
    elif kind == "backbone":
        state = backbone.load(root / "net.pt", retrain=False).state_dict()
        versions = set()
        for version, level in (("A", 10), ("B", 200)):
            torch.manual_seed(level)
            expected = backbone.Extractor(backbone.WorldCNN()).state_dict()
            if all(torch.equal(state[k], expected[k]) for k in expected):
                versions.add(version)
    return versions


# Kill points: "staged" = every new file written, before the journal; "swapping" = after the first entry
# of the set has been swapped in, before the second.
KILLER = textwrap.dedent('''
    import os, signal, sys
    from mmlearn import core

    kind, root, point = sys.argv[1:4]
    write(kind, root, "A")
    if point == "staged":
        real_write_json = core.write_json
        def write_json(path, obj):
            if path.name == core.JOURNAL:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_write_json(path, obj)
        core.write_json = write_json
    else:
        real_replace, moved = os.replace, []
        def replace(src, dst):
            real_replace(src, dst)
            if core.STAGING in str(src) and core.STAGING not in str(dst):
                moved.append(dst)
                if len(moved) == 1:
                    os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace
    write(kind, root, "B")
    print("not killed")
''')


def leftovers(root: Path) -> list[str]:
    """Staging folders, journals and atomic_write's temporary files under root."""
    return sorted(p.name for p in root.rglob("*")
                  if p.name.startswith(STAGING) or p.name == JOURNAL or p.name.startswith(".") and p.name.endswith(".tmp"))


@pytest.mark.parametrize("kind", ["coco", "vqa", "esc50", "backbone"])
@pytest.mark.parametrize("point, survivor", [("staged", "A"), ("swapping", "B")])
def test_a_killed_writer_leaves_one_whole_set(tmp_path, kind, point, survivor):
    done = subprocess.run([sys.executable, "-c", WRITERS + KILLER, kind, str(tmp_path), point],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stdout + done.stderr  # really killed mid-write
    before = leftovers(tmp_path)
    assert before and (JOURNAL in before) == (point == "swapping")  # the kill left its traces ...
    assert read(kind, tmp_path) == {survivor}                        # ... yet a reader sees one whole version
    assert leftovers(tmp_path) == []                                 # ... and cleaned them up
    write(kind, tmp_path, "A")                                       # the next write works as usual
    assert read(kind, tmp_path) == {"A"} and leftovers(tmp_path) == []


def test_a_failing_block_changes_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    with pytest.raises(ZeroDivisionError), atomic_set(tmp_path, ["a.txt", "b.txt"]) as staging:
        (staging / "a.txt").write_text("new a")
        1 / 0
    assert (tmp_path / "a.txt").read_text() == "old a" and (tmp_path / "b.txt").read_text() == "old b"
    assert leftovers(tmp_path) == []
    with pytest.raises(RuntimeError, match=r"did not write \['b.txt'\]"), atomic_set(tmp_path, ["a.txt", "b.txt"]) as st:
        (st / "a.txt").write_text("new a")
    assert (tmp_path / "a.txt").read_text() == "old a"


def test_a_folder_entry_is_replaced_whole(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "stale.png").write_text("from an older write")
    with atomic_set(tmp_path, ["images"]) as staging:
        (staging / "images").mkdir()
        (staging / "images" / "new.png").write_text("new")
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["new.png"]


def test_a_live_writers_staging_is_left_alone(tmp_path):
    mine = tmp_path / f"{STAGING}{os.getpid()}"
    dead = tmp_path / f"{STAGING}999999999"
    mine.mkdir()
    dead.mkdir()
    finish_interrupted_write(tmp_path)
    assert mine.exists() and not dead.exists()
