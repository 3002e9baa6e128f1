"""Interactive players and explorers for the notebooks.

Every widget here works without a live kernel: it is plain HTML (with a little JavaScript), so it
still plays in a saved notebook, on a projector with a frozen kernel, or in a static HTML export.
Where no browser front end exists at all (a terminal, CI), `display` shows the static fallback figure.
"""
from __future__ import annotations

import base64
import io
import uuid

import numpy as np


def _png(frame: np.ndarray, scale: int) -> str:
    from PIL import Image

    image = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _wav(audio: np.ndarray, rate: int) -> str:
    import soundfile as sf

    buffer = io.BytesIO()
    peak = max(float(np.abs(audio).max()), 1e-6)
    sf.write(buffer, (audio / peak * 0.9).astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode()


def talking_face_html(frames: np.ndarray, audio: np.ndarray, rate: int = 16_000, fps: int = 25, scale: int = 6,
                      caption: str = "") -> str:
    """HTML of a player: press play on the audio and the face frames follow its clock (25 fps)."""
    key = uuid.uuid4().hex[:8]
    images = ",".join(f'"data:image/png;base64,{_png(f, scale)}"' for f in frames)
    size = frames.shape[1] * scale
    return f"""
<div style="display:flex;gap:12px;align-items:center">
  <img id="face-{key}" src="data:image/png;base64,{_png(frames[0], scale)}" width="{size}" height="{size}"
       style="image-rendering:pixelated;border:1px solid #ccc"/>
  <div><div style="font-family:sans-serif;margin-bottom:6px">{caption}</div>
    <audio id="audio-{key}" controls src="data:audio/wav;base64,{_wav(audio, rate)}"></audio>
    <div style="font-family:sans-serif;font-size:12px;color:#666">press play: the mouth follows the sound</div></div>
</div>
<script>
(function() {{
  const frames = [{images}];
  const img = document.getElementById("face-{key}"), audio = document.getElementById("audio-{key}");
  function tick() {{
    const k = Math.min(frames.length - 1, Math.floor(audio.currentTime * {fps}));
    if (img.dataset.k != k) {{ img.src = frames[k]; img.dataset.k = k; }}
    if (!audio.paused) requestAnimationFrame(tick);
  }}
  audio.addEventListener("play", tick);
  audio.addEventListener("seeked", tick);
}})();
</script>"""


def talking_face_player(frames: np.ndarray, audio: np.ndarray, rate: int = 16_000, fps: int = 25,
                        caption: str = "", scale: int = 6):
    """Show a talking-face player (HTML + audio); returns the IPython HTML object."""
    from IPython.display import HTML, display

    html = HTML(talking_face_html(frames, audio, rate, fps, scale, caption))
    display(html)
    return html
