"""Reed et al.'s fine-grained caption release (CUB-200 / Oxford-102), on hand-written samples of its layout."""
import pytest

from mmlearn.core import DatasetFormatError
from mmlearn.datasets import read_reed_captions

BIRD = ("this bird has a white belly and a long black bill\n"
        "a small bird with brown wings and a short beak\n")


def cub(tmp_path, ids=True):
    for c, image in [("001.Black_footed_Albatross", "Black_Footed_Albatross_0001_796111"),
                     ("002.Laysan_Albatross", "Laysan_Albatross_0002_1027"),
                     ("003.Sooty_Albatross", "Sooty_Albatross_0001_1071")]:
        (tmp_path / "text_c10" / c).mkdir(parents=True)
        (tmp_path / "text_c10" / c / f"{image}.txt").write_text(BIRD)
    if ids:
        (tmp_path / "allclasses.txt").write_text("001.Black_footed_Albatross\n002.Laysan_Albatross\n003.Sooty_Albatross\n")
        (tmp_path / "trainvalids.txt").write_text("1\n3\n")
        (tmp_path / "testids.txt").write_text("2\n")
    else:
        (tmp_path / "trainvalclasses.txt").write_text("001.Black_footed_Albatross\n003.Sooty_Albatross\n")
        (tmp_path / "testclasses.txt").write_text("002.Laysan_Albatross\n")
    return tmp_path


@pytest.mark.parametrize("ids", [True, False])
def test_reed_captions_with_either_split_layout(tmp_path, ids):
    data = read_reed_captions(cub(tmp_path, ids))
    assert data.image[0] == "Black_Footed_Albatross_0001_796111" and data.label[1] == "002.Laysan_Albatross"
    assert data.captions[0] == ["this bird has a white belly and a long black bill", "a small bird with brown wings and a short beak"]
    assert data.split == ["trainval", "test", "trainval"]


def test_reed_captions_errors_name_file_and_problem(tmp_path):
    root = cub(tmp_path)
    (root / "testids.txt").write_text("2\n7\n")
    with pytest.raises(DatasetFormatError, match="testids.txt: line 2: '7' is not a class id"):
        read_reed_captions(root)
    (root / "testids.txt").write_text("1\n")
    with pytest.raises(DatasetFormatError, match="also listed"):
        read_reed_captions(root)
    with pytest.raises(DatasetFormatError, match="no text_c10"):
        read_reed_captions(tmp_path / "nowhere")


def test_reed_captions_lost_characters_are_read_as_a_space(tmp_path):
    root = cub(tmp_path)
    # the CUB release as published: a lost character left as U+FFFD U+FFFD between two words
    (root / "text_c10/001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.txt").write_text(
        "this bird has dark plumage\ufffd\ufffdand a white face\n", encoding="utf-8")
    assert read_reed_captions(root).captions[0] == ["this bird has dark plumage and a white face"]
    (root / "testids.txt").write_bytes("2\n".encode("utf-16"))                  # re-saved in another encoding
    with pytest.raises(DatasetFormatError, match="testids.txt: not UTF-8 text"):
        read_reed_captions(root)

