"""Readers of the audio-visual speech datasets, on hand-written files in their published layouts."""
import pytest

from mmlearn.audio_datasets import read_avspeech, read_lrs3, read_voxceleb2
from mmlearn.core import DatasetFormatError

AVSPEECH = """AvWWVOgaMlk,90.000000,93.566667,0.586875,0.286111
--0QEvVsy4c,30.000000,34.200000,0.464063,0.311111
"""


def test_avspeech_as_released(tmp_path):
    path = tmp_path / "avspeech_test.csv"
    path.write_text(AVSPEECH)
    tracks = read_avspeech(path)
    assert [t.video_id for t in tracks] == ["AvWWVOgaMlk", "--0QEvVsy4c"]     # ids may start with dashes
    assert tracks[0].start == 90.0 and tracks[0].end == pytest.approx(93.566667)
    assert (tracks[1].x, tracks[1].y) == (pytest.approx(0.464063), pytest.approx(0.311111))


@pytest.mark.parametrize("text, problem", [
    ("youtube_id,start,end,x,y\nAvWWVOgaMlk,90,93.5,0.5,0.2\n", "no header line"),
    ("AvWWVOgaMlk,90,93.5,0.5\n", "4 fields"),
    ("AvWWVOgaMlk,93.5,90,0.5,0.2\n", "empty or negative"),
    ("AvWWVOgaMlk,90,93.5,312,140\n", "fractions of the frame"),
    ("\n", "no segments"),
])
def test_avspeech_errors_name_file_and_line(tmp_path, text, problem):
    path = tmp_path / "avspeech_train.csv"
    path.write_text(text)
    with pytest.raises(DatasetFormatError, match=problem) as error:
        read_avspeech(path)
    assert str(path) in str(error.value)


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_voxceleb2_pairs_the_mp4_and_aac_trees(tmp_path):
    for speaker, video, clip in (("id00012", "21Uxsk56VDQ", "00001"), ("id00012", "21Uxsk56VDQ", "00002"),
                                 ("id00015", "0fijmz4vTVU", "00001")):
        touch(tmp_path / "dev/mp4" / speaker / video / f"{clip}.mp4")
        touch(tmp_path / "dev/aac" / speaker / video / f"{clip}.m4a")
    clips = read_voxceleb2(tmp_path / "dev/mp4", tmp_path / "dev/aac")
    assert [(c.speaker, c.video, c.clip) for c in clips] == [("id00012", "21Uxsk56VDQ", "00001"),
                                                             ("id00012", "21Uxsk56VDQ", "00002"),
                                                             ("id00015", "0fijmz4vTVU", "00001")]
    assert clips[2].audio_path == tmp_path / "dev/aac/id00015/0fijmz4vTVU/00001.m4a"
    assert read_voxceleb2(tmp_path / "dev/mp4")[0].audio_path.suffix == ".mp4"       # audio from the video itself


def test_voxceleb2_names_the_clip_without_audio(tmp_path):
    touch(tmp_path / "mp4/id00012/21Uxsk56VDQ/00001.mp4")
    (tmp_path / "aac").mkdir()
    with pytest.raises(DatasetFormatError, match="00001.mp4: no audio"):
        read_voxceleb2(tmp_path / "mp4", tmp_path / "aac")
    with pytest.raises(DatasetFormatError, match="no clips"):
        read_voxceleb2(tmp_path / "aac")


LRS3_TXT = """Text:  SO I WANT TO TALK ABOUT
Conf:  4

WORD START END ASDSCORE
SO 0.19 0.30 4.1
I 0.30 0.41 5.2
"""


def test_lrs3_reads_the_transcript(tmp_path):
    touch(tmp_path / "test/0Fi83BHQsMA/00002.mp4")
    (tmp_path / "test/0Fi83BHQsMA/00002.txt").write_text(LRS3_TXT)
    clips = read_lrs3(tmp_path / "test")
    assert clips[0].text == "SO I WANT TO TALK ABOUT" and clips[0].speaker == "0Fi83BHQsMA"
    (tmp_path / "test/0Fi83BHQsMA/00002.txt").write_text("SO I WANT\n")
    with pytest.raises(DatasetFormatError, match="00002.txt: the first line should be 'Text:"):
        read_lrs3(tmp_path / "test")
    (tmp_path / "test/0Fi83BHQsMA/00002.txt").unlink()
    with pytest.raises(DatasetFormatError, match="transcript 00002.txt is missing"):
        read_lrs3(tmp_path / "test")


def test_voxceleb2_audio_only_release(tmp_path):
    # vox2_dev_aac.zip unpacked: dev/aac/<speaker>/<video>/<clip>.m4a, no video (what clovaai/voxceleb_trainer uses)
    touch(tmp_path / "dev/aac/id00012/21Uxsk56VDQ/00001.m4a")
    touch(tmp_path / "dev/aac/id00015/0fijmz4vTVU/00003.m4a")
    for clips in (read_voxceleb2(tmp_path / "dev/aac"), read_voxceleb2(None, tmp_path / "dev/aac")):
        assert [(c.speaker, c.video, c.clip) for c in clips] == [("id00012", "21Uxsk56VDQ", "00001"),
                                                                 ("id00015", "0fijmz4vTVU", "00003")]
        assert clips[0].video_path is None and clips[0].audio_path.suffix == ".m4a"


def test_text_in_another_encoding_names_its_file(tmp_path):
    path = tmp_path / "avspeech_test.csv"
    path.write_bytes("caf\xe9,90,93.5,0.5,0.2\n".encode("latin-1"))
    with pytest.raises(DatasetFormatError, match="avspeech_test.csv: not UTF-8 text"):
        read_avspeech(path)
    touch(tmp_path / "test/0Fi83BHQsMA/00002.mp4")
    (tmp_path / "test/0Fi83BHQsMA/00002.txt").write_bytes("Text:  CAF\xc9\n".encode("latin-1"))
    with pytest.raises(DatasetFormatError, match="00002.txt: not UTF-8 text"):
        read_lrs3(tmp_path / "test")

